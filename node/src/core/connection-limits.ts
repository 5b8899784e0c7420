/**
 * The libp2p connection manager's limits, in one place: the host applies
 * them (host/libp2p-config.ts) and the simulator models them
 * (simulations/src/network/connections.ts).
 *
 * A connection libp2p opens for any exchange (a membership probe or
 * push-pull, gossipsub, a request) stays open until one side closes it: no
 * idle timeout closes it, and the connection manager closes connections
 * only when a new one takes it over `maxConnections`. libp2p's own pruner
 * closes only connections whose streams are all closable (identify's,
 * autonat's), never one carrying gossipsub's or membership's streams, so the
 * host trims them itself, untagged peers (gossipsub tags its mesh peers),
 * the newest first, once their exchange is over (host/connection-trim.ts); libp2p
 * refuses inbound connections only past `inboundLimit` of it. In a mesh
 * of up to 200 nodes every node therefore holds a connection to every other
 * once membership has probed them all, and sees a killed process's
 * connections close when its kernel's reset arrives.
 */
export const CONNECTION_LIMITS = {
  /** peers a host keeps connections to, at most (libp2p's own limit, which counts connections, is `inboundLimit` of it: 300) */
  maxConnections: 200
} as const

/**
 * The libp2p connection manager's limits, in one place: the host applies
 * them (host/libp2p-config.ts) and the simulator models them
 * (simulations/src/network/connections.ts).
 *
 * A connection libp2p opens for any exchange (a membership probe or
 * push-pull, gossipsub, a request) stays open until one side closes it: no
 * idle timeout closes it, and the connection manager closes connections
 * only when a new one takes it over `maxConnections` (libp2p's
 * ConnectionPruner: the lowest tag value first — gossipsub tags its mesh
 * peers — then the fewest streams, inbound before outbound, the newest
 * first; and only a connection whose streams are all closable, identify's
 * or autonat's); at the limit it also refuses inbound connections. In a mesh
 * of up to 200 nodes every node therefore holds a connection to every other
 * once membership has probed them all, and sees a killed process's
 * connections close when its kernel's reset arrives.
 */
export const CONNECTION_LIMITS = {
  /** connections a host keeps open at most (libp2p's default 300) */
  maxConnections: 200
} as const

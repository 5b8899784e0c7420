/**
 * The mesh's gossipsub tuning, in one place: the host applies it
 * (host/libp2p-config.ts) and the simulator models it
 * (simulations/src/network/model.ts), so the two cannot drift apart.
 *
 * Little changes (entries are deploys, cordons, joins), and every entry also
 * reaches everyone by anti-entropy (every 3 s), so gossip is tuned for few
 * copies, not for the last millisecond. Each copy of an entry (~700 bytes)
 * costs its bytes: a message travels about N × (D − 1) times, plus N − 1 from
 * its publisher when it floods. With floodPublish and D 4 (Dhi 6) a deploy
 * cost ~95 copies at 20 nodes, most of what a mesh under deploys sends
 * (mesh-gossip-bytes); the publisher now sends to its mesh peers only and D is
 * 3: about half the copies, a hop or two more (milliseconds). IDONTWANT
 * (gossipsub 1.2) spares some duplicates of the larger messages. IHAVE
 * repairs a hole in the mesh within a second: each message's id is announced
 * once (at the next heartbeat, mcacheGossip 1, not in 3 heartbeats) to Dlazy
 * others (gossipFactor 0: not to a quarter of all the others, ~50 peers a
 * heartbeat at 200 nodes); what IHAVE misses, anti-entropy brings within a
 * few seconds. Names and units are @libp2p/gossipsub's (ms for the heartbeat,
 * bytes for idontwantMinDataSize).
 */
export const GOSSIPSUB_TUNING = {
  floodPublish: false,
  D: 3,
  Dlo: 2,
  Dhi: 4,
  Dout: 1,
  Dlazy: 3,
  gossipFactor: 0,
  mcacheGossip: 1,
  heartbeatInterval: 1000,
  idontwantMinDataSize: 128
} as const

/**
 * How long each step of a probe waits, ms, from the probe timeout (500 ms
 * by default, for a mesh across the internet). SWIM's probe waits a fixed
 * timeout for an ack (Das, Gupta and Motivala 2002); Lifeguard's helper
 * nacks after 80 % of it, so the prober can tell a helper that answered
 * from one that did not (Dadgar et al., arXiv 1707.00788). On
 * libp2p a ping of a member with no open connection dials first, and the
 * dial's handshakes (TCP, Noise, multistream-select) add about two round
 * trips: over 500 ms across continents. Each step gives such a dial its
 * time, the direct probe and a helper's alike; the timeouts are not scaled
 * by local health here (the prober scales what it waits for itself).
 */
import type { MembershipConfig } from './config.js'

/** a probe of a member with no open connection waits this many probe timeouts */
export const DIAL_FACTOR = 3
/** a helper of an indirect probe gives up (and sends a nack) after this share of the probe timeout */
const HELPER_SHARE = 0.8
/** an indirect probe waits this share of the probe timeout beyond the helper's own: time for a helper's nack to come back from across the internet */
const INDIRECT_SHARE = 0.7

/** a direct probe's wait for its ack */
export function directTimeout (config: Pick<MembershipConfig, 'probeTimeout'>, connected: boolean): number {
  return config.probeTimeout * (connected ? 1 : DIAL_FACTOR)
}

/** a helper's ping of the target, for another member */
export function helperTimeout (config: Pick<MembershipConfig, 'probeTimeout'>, connected: boolean): number {
  return config.probeTimeout * HELPER_SHARE * (connected ? 1 : DIAL_FACTOR)
}

/**
 * a ping-req's wait for its helper's answer: the helper's ping and the round trip to the helper. In a mesh past its
 * connection limit (`dials`) the helper may have to dial the target, and the prober the helper when it is not
 * connected to it: the wait gives each dial its time. Below the limit every member holds a connection to every other,
 * and waiting for dials there would only slow the verdict on a member that is gone (helpers that cannot reach it may
 * answer nothing: a partition)
 */
export function indirectTimeout (config: Pick<MembershipConfig, 'probeTimeout'>, dials: { past: boolean, helperConnected: boolean }): number {
  if (!dials.past) return helperTimeout(config, true) + config.probeTimeout * INDIRECT_SHARE
  const ownDial = dials.helperConnected ? 0 : directTimeout(config, false) - directTimeout(config, true)
  return helperTimeout(config, false) + config.probeTimeout * INDIRECT_SHARE + ownDial
}

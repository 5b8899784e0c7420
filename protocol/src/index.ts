/**
 * @packageDocumentation
 *
 * minga's protocol layer: identities, signed entries, the desired-state CRDT,
 * service specs, invites and wire codecs. Pure: no sockets, no Docker, no timers.
 */
export * from './errors.js'
export * from './canonical.js'
export * from './hlc.js'
export * from './identity.js'
export * from './spec.js'
export { parseCpu, parseMemory } from './spec-units.js'
export * from './duration.js'
export * from './entry.js'
export * from './keys.js'
export * from './records.js'
export * from './auth.js'
export * from './governance.js'
export * from './secret-box.js'
export * from './marks.js'
export * from './digest.js'
export * from './persistence.js'
export * from './state.js'
export * from './protocol-ids.js'
export * from './spec-parse.js'
export * from './spec-hash.js'
export * from './spec-routes.js'
export * from './invite.js'
export * from './wire.js'
export * from './wire-requests.js'
export * as check from './wire-check.js'
export * from './wire-blobs.js'
export * from './backup-records.js'
export * from './recovery.js'

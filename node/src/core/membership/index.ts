/**
 * Membership: SWIM with Lifeguard's refinements, sans I/O (see
 * membership.ts), and the replica reports that the nodes sharing a service
 * send each other (replica-records.ts).
 */
export * from './config.js'
export * from './table.js'
export * from './membership.js'
export * from './replica-records.js'

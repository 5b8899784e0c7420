/**
 * `@minga/protocol/testing`: what other packages' tests share with
 * protocol's: the persistence conformance suite (a store on disk in node/
 * passes it as MemoryPersistence does), the fixtures it builds on, and one
 * valid message of every membership type (a codec's round trip).
 */
export { runPersistenceTests, type PersistenceSetup } from './persistence-suite.js'
export { buildFixture, inviteValue, openState, serviceValue } from './fixtures.js'
export { membershipMessages } from './fuzz-targets.js'

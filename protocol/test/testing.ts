/**
 * `@minga/protocol/testing`: what other packages' tests share with
 * protocol's: the persistence conformance suite (a store on disk in node/
 * passes it as MemoryPersistence does) and the fixtures it builds on.
 */
export { runPersistenceTests, type PersistenceSetup } from './persistence-suite.js'
export { buildFixture, openState, serviceValue } from './fixtures.js'

/** the in-memory store passes the conformance suite; LevelDB's run is in node/test/level-persistence.test.ts */
import { test } from 'uvu'
import { MemoryPersistence } from '../src/index.js'
import { runPersistenceTests } from './persistence-suite.js'

runPersistenceTests('memory', async () => {
  const shared = new MemoryPersistence()
  return { open: () => shared, cleanup: async () => {} }
})

test.run()

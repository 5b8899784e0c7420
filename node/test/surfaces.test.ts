/**
 * The package's surfaces load only what they are for: `@minga/node/core`
 * (the simulator's and the core tests' door) and `@minga/node/api` (the
 * CLI's contract) load neither libp2p nor dockerode nor prom-client nor
 * LevelDB; `@minga/node/setup` is the CLI's only other way in.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { DAEMON_LIBRARIES, modulesLoadedBy } from './module-loads.js'

const NODE_DIR = fileURLToPath(new URL('../../', import.meta.url))

test('@minga/node/core and @minga/node/api load no libp2p host, no Docker client, no metrics registry, no LevelDB', () => {
  for (const surface of ['@minga/node/core', '@minga/node/api']) {
    const heavy = modulesLoadedBy(surface, NODE_DIR).filter(url => DAEMON_LIBRARIES.test(url))
    assert.equal(heavy, [], `${surface} loads ${heavy.slice(0, 3).join(', ')}`)
  }
})

test('the whole package does load them (the check sees what it claims not to)', () => {
  assert.ok(modulesLoadedBy('@minga/node', NODE_DIR).some(url => /node_modules\/dockerode\//.test(url)))
})

test.run()

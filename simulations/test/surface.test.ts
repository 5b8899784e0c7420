/** the simulator runs the real node core without the daemon's weight: no libp2p host, no Docker client, no metrics registry, no LevelDB */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { fileURLToPath } from 'node:url'
import { DAEMON_LIBRARIES, modulesLoadedBy } from '@minga/node/testing'

test('importing @minga/simulations loads none of the daemon\'s libraries', () => {
  const loaded = modulesLoadedBy('@minga/simulations', fileURLToPath(new URL('../../', import.meta.url)))
  assert.equal(loaded.filter(url => DAEMON_LIBRARIES.test(url)), [])
})

test.run()

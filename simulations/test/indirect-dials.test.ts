/**
 * Past `maxConnections` members a helper asked for an indirect probe is
 * mostly not connected to its target either, so its ping dials first, and
 * across continents the dial's handshakes alone take longer than the ping's
 * share of the probe timeout: the helper nacked a member that was fine,
 * and a lost direct ping became a failed probe. A helper's ping of an
 * unconnected member waits for its dial as a direct probe's does (probe-timeouts.ts,
 * DIAL_FACTOR), and the prober waits for such a helper.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { acrossContinents } from './helpers.js'

test('past its connection limit, across continents, with loss: a lost direct ping is answered through helpers that dial', async () => {
  const { probes, indirect, failed } = await acrossContinents(60_000, 0.1)
  // the loss sends some probes indirect; through three helpers each, almost none of them fails
  assert.ok(indirect >= 30, `${indirect} members asked for indirect probes over ${probes} probes`)
  assert.ok(failed <= indirect / 3 / 20, `${failed} probes failed of ${Math.round(indirect / 3)} that went indirect`)
})

test.run()

/**
 * A node whose clock runs 5 minutes ahead (libfaketime shifts the wall clock
 * of its `minga up` process, as a server without NTP would be): every other
 * node refuses its entries as clock-ahead. It must know, from its probes'
 * round trips: `minga up` warns, `minga status` says so, and `minga deploy`
 * is refused with what to do instead of acknowledged as "created" and lost.
 * The other nodes' status names it.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fakeClockEnv, startCluster, testIf, waitFor } from '../src/index.js'

const skewed = fakeClockEnv('+5m')
const it = testIf(skewed === undefined ? 'no libfaketime (apt-get install faketime)' : undefined)

it('a node 5 min ahead warns at up and in status, refuses deploy with "fix the clock", and the others name it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-clock-'))
  const mesh = await startCluster({ nodes: ['acme', 'acme', { org: 'acme', env: skewed }], settle: false })
  try {
    const [good, , ahead] = mesh.nodes
    const status = await waitFor(async () => {
      const run = await mesh.cli(ahead, 'status', '--json')
      const s = JSON.parse(run.stdout)
      return s.clock?.peers === 2 ? s : undefined
    }, { label: 'the skewed node hears both others', message: () => mesh.logs() })
    assert.ok(Math.abs(status.clock.aheadMs - 300_000) < 10_000, `estimated ${status.clock.aheadMs} ms ahead`)
    assert.match(status.problems.join('\n'), /This node's clock is 5 min ahead of the other nodes' \(all 2 it probed\): they refuse its changes .*fix the clock with NTP/)
    // on a loaded machine an ack can be late (the peer suspect, its clock not counted): look until the screen shows it
    const screen = await waitFor(async () => {
      const run = await mesh.cli(ahead, 'status')
      return /clock {5}5m ahead of the mesh/.test(run.stdout) ? run : undefined
    }, { label: 'the status screen shows the clock 5m ahead', message: () => mesh.logs() })
    assert.is(screen.status, 1)
    await waitFor(() => ahead.log.some(l => /^warning: This node's clock is 5 min ahead of the other nodes' \(all \d it probed/.test(l)), { label: 'minga up warns', message: () => ahead.log.slice(-10).join('\n') })

    const file = join(dir, 'web.yaml')
    await writeFile(file, 'name: web\nimage: minga/busybox:1\n')
    const deploy = await mesh.cli(ahead, 'deploy', '-f', file)
    assert.is(deploy.status, 1, `the deploy is refused, not acknowledged: ${deploy.stdout}`)
    assert.is(deploy.stdout, '')
    assert.match(deploy.stderr, /so it refuses writes; fix the clock with NTP \(timedatectl set-ntp true, or chrony\) on this server/)
    assert.equal(await mesh.json(ahead, 'ls'), [], 'nothing was written')

    const fromGood = await mesh.json(good, 'status')
    assert.match(fromGood.problems.join('\n'), new RegExp(`1 node\\(s\\) \\(${ahead.peerId.slice(-8)}\\) run over 60 s ahead of this node, which refuses their changes`))
    const works = await mesh.cli(good, 'deploy', '-f', file)
    assert.is(works.status, 0, works.stderr)
  } finally {
    await mesh.stop()
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()

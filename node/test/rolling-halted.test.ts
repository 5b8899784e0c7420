/**
 * A rolling update whose new spec fails its health check halts: the old
 * copies go on serving. `minga ls` (servicesView) must show what serves,
 * old and new, and `minga status` must say the update halted and why.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { parseServiceSpec } from '@minga/protocol'
import { TestCluster, waitFor, played } from './core-cluster.js'

const web = (maxUnavailable: number, health = ''): any => parseServiceSpec(`name: web
image: minga/busybox:${health === '' ? 1 : 2}
replicas: 3
spread: node
update: { maxUnavailable: ${maxUnavailable} }
${health}`, { org: 'acme' })

for (const maxUnavailable of [1, 0]) {
  test(`maxUnavailable ${maxUnavailable}: a halted update shows the old copies serving in ls, and status says it halted`, async () => {
    const mesh = await TestCluster.start(['acme', 'acme', 'acme'])
    try {
      await mesh.settled()
      const ops = mesh.nodes[0].core.operations
      await ops.deploy(web(maxUnavailable))
      await waitFor(async () => (await ops.services())[0]?.updated === 3, 'three replicas serve')
      await ops.deploy(web(maxUnavailable, 'health: { cmd: [sh, -c, "echo no database; exit 1"], interval: 1s, retries: 1 }\n'))
      const serving = maxUnavailable === 0 ? 3 : 2
      const ls = await waitFor(async () => {
        const s = (await ops.services())[0]
        return s.healthy === serving && s.updated === 0 && (await ops.ps('web')).some(r => /failing its health check/.test(r.problem ?? '')) ? s : undefined
      }, `ls shows ${serving} replicas served by the old spec while the new one fails`)
      assert.is(ls.replicas, 3)
      const status = await played(mesh.nodes[0].core.operations.status())
      const told = status.problems.join('\n')
      if (maxUnavailable === 0) assert.match(told, /acme\/web: rolling update halted at 0\/3 on the current spec, the rest serve the old one \(.*failing its health check: exit 1, "no database"\)/)
      else assert.match(told, /acme\/web: 2\/3 replicas healthy \(.*failing its health check/)
      assert.is(status.replicas.updated, 0)
      assert.is(status.replicas.healthy, serving)
    } finally {
      await mesh.stop()
    }
  })
}

test.run()

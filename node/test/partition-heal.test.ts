/**
 * A partition heals, at the core level: five NodeCores of two
 * organizations cut 3 / 2, each side running every replica it can place
 * (and writing its own services and scales), then healed. Replica records
 * go only to the nodes concerned with a service, and the audience was
 * computed while cut: after the heal every replica must still end up
 * running exactly once, on the node it is assigned to.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { TestCluster, spec, waitFor, type TestNode } from './core-cluster.js'

const id = (n: TestNode): string => n.identity.peerId

async function copies (mesh: TestCluster): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>()
  for (const n of mesh.nodes) {
    for (const c of await n.runtime.list()) {
      if (c.state !== 'running') continue
      const key = `${c.service}#${c.replica}`
      out.set(key, [...(out.get(key) ?? []), id(n)])
    }
  }
  return out
}

/** deploys, cuts 3 / 2, writes on both sides, heals; throws naming the replicas not running once where assigned */
async function cutAndHeal (): Promise<void> {
  const mesh = await TestCluster.start(['acme', 'riverside', 'acme', 'riverside', 'acme'])
  try {
    await mesh.settled()
    const [a, b, , d, e] = mesh.nodes
    await a.core.operations.deploy([spec('acme', 'web', { replicas: 3 }), spec('acme', 'both')])
    await b.core.operations.deploy([spec('riverside', 'api', { replicas: 2 })])
    await waitFor(async () => (await copies(mesh)).size === 6, 'every replica runs')
    const left = mesh.nodes.slice(0, 3)
    const right = mesh.nodes.slice(3)
    mesh.net.partition(left.map(id), right.map(id))
    // each side loses the other's members and places everything on its own nodes
    await waitFor(() => left.every(n => n.core.membership.live().length === 3) && right.every(n => n.core.membership.live().length === 2), 'both sides see the cut')
    await e.core.operations.deploy([spec('acme', 'web', { replicas: 4 })])
    await d.core.operations.deploy([spec('riverside', 'right-only')])
    await b.core.operations.deploy([spec('riverside', 'api', { replicas: 3 })])
    await a.core.operations.deploy([spec('acme', 'left-only', { replicas: 2 })])
    await waitFor(async () => {
      const now = await copies(mesh)
      return [...now.keys()].length >= 11
    }, 'both sides run their share')
    mesh.net.heal()
    await waitFor(() => mesh.nodes.every(n => n.core.membership.live().length === 5), 'the heal is seen')
    let problems: string[] = []
    await waitFor(async () => {
      const assignment = d.core.reconciler.currentAssignment()
      const now = await copies(mesh)
      problems = []
      for (const [service, nodes] of Object.entries(assignment.services)) {
        nodes.forEach((node, replica) => {
          const on = now.get(`${service}#${replica}`) ?? []
          if (on.length !== 1 || on[0] !== node) {
            problems.push(`${service}#${replica} runs on ${on.map(x => x.slice(-4)).join(',')}, assigned ${String(node).slice(-4)}`)
            // what each node hears of the service, and from whom: where a record went missing
            for (const n of mesh.nodes) {
              const held = [...n.core.membership.records.reportsFor(service)].map(([p, r]) => `${p.slice(-4)}:${r.map(x => `${x.replica}${x.healthy ? 'h' : 'u'}`).join('/')}`)
              problems.push(`  ${id(n).slice(-4)} audience=${n.core.reconciler.audience(service).map(x => x.slice(-4)).join(',')} holds=${held.join(' ')}`)
            }
          }
        })
      }
      return problems.length === 0 && mesh.nodes.every(n => n.state.digest() === a.state.digest())
    }, 'one copy of every replica', 45_000).catch(err => { throw new Error(`${(err as Error).message}\n${problems.join('\n')}`) })
  } finally {
    await mesh.stop()
  }
}

test('after a heal every replica runs exactly once, where it is assigned', async () => {
  // the order of sends across the heal varies with the identities: before the fix about three runs in four left a duplicate
  for (let run = 0; run < 4; run++) {
    await cutAndHeal().catch(err => { throw new Error(`run ${run + 1}: ${(err as Error).message}`) })
  }
  assert.ok(true, 'every run converged')
})

test.run()

/**
 * End to end on real Docker engines: the phoenix drill. Three organizations
 * (acme, riverside, coop), one node each, each on its own engine. Acme's only
 * node runs a singleton of acme (allowed on acme's nodes only) with a secret,
 * writing numbered lines into a backed-up volume whose snapshots riverside's
 * and coop's nodes hold.
 *
 * After a snapshot, acme's node is lost for good: its process and supervisor
 * killed, its engine's containers and volumes removed, its engine stopped,
 * its data dir deleted. A new server on another engine is set up with the
 * commands a user runs (README, "The phoenix drill"): the recovery key that
 * `minga init` printed, kept in a file; a `minga invite --new-org` from
 * riverside; `minga join TOKEN --org acme --recover FILE`; `minga up`. The
 * service comes back on it with its secret and every line up to the snapshot,
 * and writes on from there.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'
import { servingAtLeast } from '../src/docker-samples.js'
import { journal, lineNumbers, MARKER, missing, volumeFile, volumeName } from '../src/docker-volumes.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c', 'e2e-d'])
const VOLUME = volumeName('acme', 'journal', 'data')
const PASSWORD = 'correct horse battery staple'
const TOKEN = `written before the lightning ${Date.now()}`

it('e2e: acme loses its only node; a new server joins with a new invite and the recovery key, and gets its service back with its secret and its data', async () => {
  const [a, b, c, d] = started
  await withCluster([a, b, c], { orgs: ['acme', 'riverside', 'coop'] }, async (cluster) => {
    // the recovery key, as `minga init` printed it once: the operator keeps it in a file, offline
    const key = cluster.nodes[0].setup.split('\n').map(l => l.trim()).find(l => l.startsWith('minga-recovery-key-'))
    assert.ok(key !== undefined, `minga init prints acme's recovery key:\n${cluster.nodes[0].setup}`)
    const keyFile = join(cluster.dir, 'acme-recovery.key')
    await writeFile(keyFile, key + '\n', { mode: 0o600 })

    await cluster.mustMinga(0, ['secret', 'set', 'journal', 'DB_PASSWORD', '--value', PASSWORD])
    await cluster.deploy(0, journal({ allowOrgs: ['acme'], interval: '30s' }), ['--wait', '--timeout', '120s'])
    assert.equal((await servingAtLeast(cluster, 'acme/journal')).map(s => s.at), [0], 'the journal runs on acme\'s only node')
    assert.equal(await secretOf(cluster.nodes[0].engine), PASSWORD, 'its container has the secret')
    await cluster.waitFor('the journal has written 20 lines', async () => lineNumbers(await volumeFile(cluster, 0, VOLUME, 'lines.log')).length >= 20)

    // a file only acme's old volume holds (the journal writes its lines and marker anew on an empty volume too),
    // then a snapshot: everything written before it must come back
    const [volume] = await a.api.volumes({ name: [VOLUME] })
    await writeFile(join(volume.mountpoint, 'before-the-lightning'), TOKEN)
    const before = lineNumbers(await volumeFile(cluster, 0, VOLUME, 'lines.log'))
    const backup = JSON.parse((await cluster.mustMinga(0, ['backup', 'journal', '--json'])).stdout)
    assert.ok(backup.snapshots[0].generation >= 1, JSON.stringify(backup))

    // lightning: acme's only server, its engine and its disk are gone
    await cluster.destroy(0)
    const lost = Date.now()

    // a new server: an invite from riverside, the key acme kept, the commands of the README
    const token = (await cluster.mustMinga(1, ['invite', '--new-org'])).stdout.trim()
    const phoenix = await cluster.add(d, 'acme', ['join', token, '--org', 'acme', '--recover', keyFile])
    assert.match(phoenix.setup, /as a node of acme, with its recovery key/)
    assert.not.match(phoenix.setup, /minga-recovery-key-/, 'a recovering node prints no new recovery key')

    const up = Date.now()
    await cluster.waitFor('the journal runs on the new acme node', async () => (await cluster.serving('acme/journal')).some(s => s.at === phoenix.index), 120_000)
    console.log(`phoenix drill: the new node joined and was up ${((up - lost) / 1000).toFixed(1)} s after the loss; its service ran with its restored data ${((Date.now() - up) / 1000).toFixed(1)} s later`)
    assert.equal(await secretOf(d), PASSWORD, 'its container has the secret again')
    await cluster.waitFor('it writes on', async () => lineNumbers(await volumeFile(cluster, phoenix.index, VOLUME, 'lines.log')).length > before.length + 10)
    assert.is(await volumeFile(cluster, phoenix.index, VOLUME, 'before-the-lightning'), TOKEN, 'the volume was restored from the snapshot')
    const back = lineNumbers(await volumeFile(cluster, phoenix.index, VOLUME, 'lines.log'))
    assert.equal(missing(back), [], 'no line missing on the new node')
    assert.ok(Math.max(...back) > Math.max(...before), `every line up to the snapshot (${Math.max(...before)}) is there, and it numbers on`)
    // the journal rewrites its marker at each start (a restore of a later generation restarts it): read it until it is whole
    await cluster.waitFor('the rest of the volume is back too (its marker)', async () => (await volumeFile(cluster, phoenix.index, VOLUME, 'marker'))?.trim() === MARKER)
    const restores = (await cluster.mustMinga(phoenix.index, ['events', '--kind', 'restore', '--json'])).stdout.split('\n').filter(Boolean).map(line => JSON.parse(line))
    // (from the snapshot taken above, or a later one the 30 s interval took before the node was lost)
    const restored = restores.filter((e: any) => e.node === phoenix.peerId).map((e: any) => /^data restored to generation (\d+) /.exec(e.reason)?.[1]).filter(g => g !== undefined).map(Number)
    assert.ok(restored.some(g => g >= backup.snapshots[0].generation), `minga events shows the restore: ${JSON.stringify(restores)}`)
    assert.equal((await cluster.everywhere('acme/journal')).filter(s => s.state === 'running').map(s => s.at), [phoenix.index], 'one copy runs, on the new node')

    // the new node resealed what only the key opened: it keeps no copy of the key, and its snapshots go on where the lost node's ended
    await cluster.waitFor('the new node dropped the recovery key', async () => await readFile(join(phoenix.dataDir, 'recovery.key')).then(() => false, () => true))
    const next = JSON.parse((await cluster.mustMinga(phoenix.index, ['backup', 'journal', '--json'])).stdout)
    assert.ok(next.snapshots[0].generation > backup.snapshots[0].generation, `the lineage goes on: ${JSON.stringify(next)}`)
    const volumes = JSON.parse((await cluster.mustMinga(phoenix.index, ['volumes', '--json'])).stdout).volumes
    assert.ok(volumes.some((v: any) => v.volume === 'data' && v.node === phoenix.peerId && (v.lineage === 'current' || v.lineage === 'written')), `minga volumes lists the new node's copy: ${JSON.stringify(volumes)}`)
    // the lost server is retired by its org's new node
    await cluster.mustMinga(phoenix.index, ['node', 'rm', cluster.nodes[0].peerId, '--reason', 'hit by lightning'])
    await cluster.waitFor('riverside sees it removed', async () => !(await cluster.api(1, '/v1/nodes')).some((n: any) => n.id === cluster.nodes[0].peerId && n.status !== 'removed'))
  })
})

/** DB_PASSWORD in the environment of the journal's running container on an engine */
async function secretOf (engine: (typeof started)[number]): Promise<string | undefined> {
  const [container] = (await engine.api.containers({ label: ['io.minga.service=acme/journal'] })).filter(c => c.state === 'running')
  if (container === undefined) return undefined
  const inspected = await engine.api.call('GET', `/containers/${container.id}/json`)
  const env: string[] = inspected.body.Config?.Env ?? []
  return env.find(e => e.startsWith('DB_PASSWORD='))?.slice('DB_PASSWORD='.length)
}

test.run()

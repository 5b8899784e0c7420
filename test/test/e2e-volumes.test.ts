/**
 * End to end on real Docker engines: volumes that follow their service.
 * Four nodes (two of acme, one of riverside, one of coop), each on its own
 * engine, and a singleton of acme (allowed on acme's nodes only) that writes
 * numbered lines into a named volume. Its snapshots are stored, encrypted,
 * on riverside's and coop's nodes.
 *
 * - the holders of riverside and coop hold blobs, and none of them holds the
 *   marker the service wrote into its volume
 * - kill -9 of the node that runs it (its supervisor stops its container;
 *   both engines sampled: never two copies): it comes back on the other
 *   acme node with every line up to its last snapshot
 * - the killed node returns and the service moves back: the returning
 *   node's copy, written after that snapshot, is kept aside and listed; the
 *   service has every line written on the other node up to its stop
 * - a drain moves it with no line lost (stop, final snapshot, restore, start)
 * - riverside's copies of every blob damaged: the next restore detects it,
 *   fetches from coop, and sends good copies back
 */
import { createHash } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster, type DockerCluster } from '../src/docker-cluster.js'
import { rankHolders } from '@minga/scheduler'
import { dockerTests } from '../src/docker-engines.js'
import { asideCopies, blobFiles, filesUnder, journal, lineNumbers, MARKER, missing, volumeFile, volumeName } from '../src/docker-volumes.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c', 'e2e-d'])
const VOLUME = volumeName('acme', 'journal', 'data')

it('e2e: a singleton\'s volume survives kill -9 of its node, comes back, moves on a drain with no line lost, and is restored past damaged copies', async () => {
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside', 'coop'] }, async (cluster) => {
    await cluster.deploy(0, journal({ allowOrgs: ['acme'] }), ['--wait', '--timeout', '120s'])
    const first = await runsOn(cluster)
    const other = first === 0 ? 1 : 0
    await cluster.waitFor('the journal has written 20 lines', async () => lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log')).length >= 20)

    // a snapshot now: everything written before it must survive what follows
    const before = lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log'))
    const backup = await cluster.mustMinga(0, ['backup', 'journal', '--json'])
    assert.is(JSON.parse(backup.stdout).snapshots[0].generation, 1)

    // the holders of the other organizations hold ciphertext only
    for (const holder of [2, 3]) {
      const files = await filesUnder(`${cluster.nodes[holder].dataDir}/backup/blobs/repos/acme/journal`)
      assert.ok(files.length > 0, `node ${holder} (${cluster.nodes[holder].org}) holds blobs of acme/journal`)
      for (const bytes of files) assert.not.ok(bytes.includes(MARKER), `node ${holder} holds the marker in plaintext`)
    }
    const listed = JSON.parse((await cluster.mustMinga(0, ['volumes', '--json'])).stdout)
    assert.ok(listed.volumes.some((v: any) => v.volume === 'data' && v.node === cluster.nodes[first].peerId && (v.lineage === 'current' || v.lineage === 'written')), JSON.stringify(listed))

    // kill -9 of the node that runs it: its supervisor stops its container; both engines sampled, never two copies
    await cluster.kill(first)
    let most = 0
    await cluster.waitFor('the journal runs on the other acme node', async () => {
      const running = [...await cluster.containers(first, 'acme/journal'), ...await cluster.containers(other, 'acme/journal')].filter(c => c.state === 'running')
      most = Math.max(most, running.length)
      return running.length === 1 && (await cluster.serving('acme/journal')).some(c => c.at === other)
    }, 120_000)
    assert.is(most, 1, 'never two copies of the singleton on the two engines')
    await cluster.waitFor('it writes on', async () => lineNumbers(await volumeFile(cluster, other, VOLUME, 'lines.log')).length > before.length + 10)
    const failedOver = lineNumbers(await volumeFile(cluster, other, VOLUME, 'lines.log'))
    assert.equal(missing(failedOver), [], 'no line missing on the node it failed over to')
    assert.ok(Math.max(...failedOver) >= Math.max(...before), 'every line up to the last snapshot is there')

    // the killed node returns: the service moves back, with every line written meanwhile; its own copy is kept aside
    await cluster.up(first)
    await cluster.waitFor('the journal runs on the returned node again', async () => (await cluster.serving('acme/journal')).some(c => c.at === first), 180_000)
    await cluster.waitFor('it writes on there', async () => lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log')).length > failedOver.length + 10)
    const stoppedOnOther = lineNumbers(await volumeFile(cluster, other, VOLUME, 'lines.log'))
    const back = lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log'))
    assert.equal(missing(back), [], 'no line missing after the move back')
    assert.ok(Math.max(...back) >= Math.max(...stoppedOnOther), `every line written on the other node (up to ${Math.max(...stoppedOnOther)}) is there`)
    const aside = await asideCopies(cluster, first, VOLUME)
    assert.is(aside.length, 1, 'the returning node kept its diverged copy aside')
    const kept = lineNumbers(await readFile(`${aside[0].mountpoint}/lines.log`, 'utf8'))
    assert.ok(kept.length > before.length, 'the aside copy holds the lines written after the snapshot, before the kill')
    const volumes = JSON.parse((await cluster.mustMinga(0, ['volumes', '--json'])).stdout).volumes
    assert.ok(volumes.some((v: any) => v.lineage === 'aside' && v.node === cluster.nodes[first].peerId && v.name === aside[0].name), `minga volumes lists the aside copy: ${JSON.stringify(volumes)}`)

    // a drain moves it with no line lost: stop, final snapshot, restore, start
    await cluster.mustMinga(first, ['drain', cluster.nodes[first].peerId, '--timeout', '180s'], 200_000)
    await cluster.waitFor('the journal runs on the other node after the drain', async () => (await cluster.serving('acme/journal')).some(c => c.at === other), 120_000)
    await cluster.waitFor('it writes on there', async () => lineNumbers(await volumeFile(cluster, other, VOLUME, 'lines.log')).length > back.length + 10)
    const atDrain = lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log'))
    const drained = lineNumbers(await volumeFile(cluster, other, VOLUME, 'lines.log'))
    assert.equal(missing(drained), [], 'no line missing after the drain')
    assert.ok(Math.max(...drained) >= Math.max(...atDrain), `every line written before the stop (up to ${Math.max(...atDrain)}) is there after the drain`)

    // the copy of every blob on the holder a reader asks first is damaged: the restore on the way back
    // detects it, fetches from the other holder, and sends a good copy back
    const candidates = cluster.nodes.filter(n => n.index !== first).map(n => ({ node: n.peerId, org: n.org }))
    const damaged: string[] = []
    for (const holder of [2, 3]) {
      for (const file of await blobFiles(cluster.nodes[holder].dataDir, 'acme/journal')) {
        const [top] = rankHolders(basename(file), candidates, { ownerOrg: 'acme' })
        if (top.node !== cluster.nodes[holder].peerId) continue
        const bytes = await readFile(file)
        bytes[bytes.length >> 1] ^= 0xff
        await writeFile(file, bytes)
        damaged.push(file)
      }
    }
    assert.ok(damaged.length > 0)
    await cluster.mustMinga(first, ['uncordon', cluster.nodes[first].peerId])
    await cluster.waitFor('the journal runs on the uncordoned node', async () => (await cluster.serving('acme/journal')).some(c => c.at === first), 180_000)
    await cluster.waitFor('it writes on there', async () => lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log')).length > drained.length + 10)
    assert.equal(missing(lineNumbers(await volumeFile(cluster, first, VOLUME, 'lines.log'))), [], 'no line missing after a restore past damaged copies')
    const events = (await cluster.mustMinga(first, ['events', '--kind', 'backup-error', '--since', '10m', '--json'])).stdout.split('\n').filter(Boolean).map(line => JSON.parse(line))
    assert.ok(events.some((e: any) => /had a damaged copy of blob/.test(e.reason)), `the damage was seen: ${JSON.stringify(events).slice(0, 500)}`)
    // a damaged copy that was read is gone or good again: holders never serve or keep a bad one once it was read
    let repaired = 0
    for (const file of damaged) {
      const bytes = await readFile(file).catch(() => undefined)
      if (bytes !== undefined && createHash('sha256').update(bytes).digest('hex') === basename(file)) repaired++
    }
    assert.ok(repaired > 0, 'good copies were sent back to the holders that had damaged ones')
  })
})

/** the index of the node whose engine runs the journal */
async function runsOn (cluster: DockerCluster): Promise<number> {
  const serving = await cluster.serving('acme/journal')
  assert.is(serving.length, 1, 'one copy runs')
  return serving[0].at
}

test.run()

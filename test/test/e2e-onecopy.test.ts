/**
 * End to end on real Docker engines, each in a network namespace of its own
 * (so each has its own host ports, as separate servers do): one copy means
 * one copy even when minga itself dies. kill -9 of the daemon (not of its
 * engine) that holds a singleton: its supervisor stops the old copy before
 * the mesh starts the new one elsewhere; both engines are watched directly
 * (their container lists every 200 ms and their event logs), never through
 * `minga ps`. And a plain service's old container is gone, its host port
 * free, so the killed node, back, runs a new replica on that port.
 */
import { execFile } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster, type DockerCluster } from '../src/docker-cluster.js'
import { dockerTests, isServing, type Engine, type EngineEvent } from '../src/docker-engines.js'
import { describe, Sampler } from '../src/docker-samples.js'
import { longRunning } from '../src/docker-specs.js'

const exec = promisify(execFile)
const { engines: started, it } = await dockerTests(['e2e-oc-a', 'e2e-oc-b', 'e2e-oc-c'], { bridge: true })
const ORGS = { orgs: ['acme', 'acme', 'riverside'] }
const PORT = 18095

/** the single node whose engine runs a serving copy, once exactly one does */
async function holderOf (cluster: DockerCluster, service: string, not?: number): Promise<number | undefined> {
  const serving = (await cluster.serving(service)).filter(c => c.at !== not)
  return serving.length === 1 ? serving[0].at : undefined
}

/** start and die events of a service's containers on every engine, by time */
async function timeline (cluster: DockerCluster, service: string, sinceMs: number): Promise<Array<EngineEvent & { at: number }>> {
  const lists = await Promise.all(cluster.nodes.map(async n => (await n.engine.api.events({ label: [`io.minga.mesh=${cluster.meshId}`, `io.minga.service=${service}`], event: ['start', 'die'] }, sinceMs, Date.now())).map(e => ({ ...e, at: n.index }))))
  return lists.flat().sort((a, b) => a.timeMs - b.timeMs)
}

it('e2e: kill -9 of the daemon holding a singleton: its supervisor stops the copy before another node starts one, never two at once', async () => {
  await withCluster(started, ORGS, async (cluster) => {
    const spec = longRunning({ name: 'db', replicas: 1 }) + 'singleton: true\n'
    // unpinned: each engine's own build of the test image runs (their ids differ). Pinned, the other acme node must
    // fetch the holder's bytes, and a holder killed seconds after the deploy may not have copied them yet (issue 15)
    await cluster.deploy(0, spec, ['--wait', '--timeout', '90s', '--unpinned'])
    const holder = await waitValue(cluster, 'the singleton serves on one node', async () => await holderOf(cluster, 'acme/db'))
    const old = (await cluster.containers(holder, 'acme/db')).find(isServing)!
    const sampler = new Sampler(cluster, 'acme/db').start()
    const killedAt = Date.now()
    await cluster.kill(holder)
    const next = await waitValue(cluster, 'the singleton serves on another node', async () => await holderOf(cluster, 'acme/db', holder), 120_000)
    await sampler.collected(sampler.samples.length + 10)
    const samples = await sampler.stop()

    for (const s of samples) {
      const running = s.containers.filter(c => c.state === 'running')
      assert.ok(running.length <= 1, `two copies of the singleton ran at once:\n${describe(samples)}`)
    }
    assert.ok(samples.some(s => s.containers.some(c => c.at === holder && c.state === 'running')), 'the samples saw the old copy run after the kill')
    assert.not.ok((await cluster.containers(holder, 'acme/db')).some(c => c.id === old.id), 'the old copy is gone from the killed node\'s engine')

    // the engines' own record, not samples: the old copy died before the new one started
    const events = await timeline(cluster, 'acme/db', killedAt - 1000)
    const died = events.find(e => e.action === 'die' && e.id === old.id)
    const born = events.find(e => e.action === 'start' && e.at === next)
    assert.ok(died !== undefined && born !== undefined, `the engines recorded both: ${JSON.stringify(events)}`)
    assert.ok(died.timeMs < born.timeMs, `the old copy died ${Math.round(died.timeMs - killedAt)} ms after the kill, the new one started ${Math.round(born.timeMs - killedAt)} ms after it`)
    console.log(`  singleton: old copy stopped ${Math.round(died.timeMs - killedAt)} ms after kill -9 of its daemon, new copy started ${Math.round(born.timeMs - killedAt)} ms after it`)

    // the killed node, back, hears from its supervisor what was stopped while it was away: in its log and its events
    await cluster.up(holder)
    const stopped = /while no daemon ran, the supervisor stopped 1 container\(s\).*acme\/db#0/
    await cluster.waitFor('the node logs what its supervisor stopped', async () => stopped.test(await readFile(cluster.nodes[holder].logPath, 'utf8')))
    const meshEvents: Array<{ kind: string, reason: string }> = await cluster.api(holder, '/v1/events')
    assert.ok(meshEvents.some(e => e.kind === 'supervisor' && stopped.test(e.reason)), 'a supervisor event says what was stopped')
  })
})

it('e2e: kill -9 of a daemon: its plain replica\'s container is gone and its host port free, so the node, back, runs a new replica on it', async () => {
  await withCluster(started, ORGS, async (cluster) => {
    const spec = [
      'name: web',
      'image: minga/busybox:1',
      'command: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]',
      'replicas: 1',
      'resources: { cpu: 50m, memory: 16Mi }',
      `ports: ["${PORT}:8080"]`,
      'health: { cmd: ["wget", "-q", "-O-", "http://127.0.0.1:8080/"], interval: 1s, timeout: 10s, retries: 3 }',
      ''
    ].join('\n')
    await cluster.deploy(0, spec, ['--wait', '--timeout', '90s'])
    const home = await waitValue(cluster, 'the replica serves on one node', async () => await holderOf(cluster, 'acme/web'))
    const old = (await cluster.containers(home, 'acme/web')).find(isServing)!
    assert.match(await fetchIn(cluster.nodes[home].engine, `http://127.0.0.1:${PORT}/`), /Hello from minga/)

    await cluster.kill(home)
    await waitValue(cluster, 'the replica serves on another node', async () => await holderOf(cluster, 'acme/web', home), 120_000)
    await cluster.waitFor('the old container is gone from the killed node\'s engine', async () => (await cluster.containers(home, 'acme/web')).length === 0, 60_000)
    assert.not.ok((await fetchIn(cluster.nodes[home].engine, `http://127.0.0.1:${PORT}/`)).includes('Hello'), 'nothing answers on the port')

    await cluster.up(home)
    const fresh = await waitValue(cluster, 'the node, back, serves the replica with a new container', async () => {
      const serving = (await cluster.containers(home, 'acme/web')).find(isServing)
      return serving !== undefined && serving.id !== old.id ? serving : undefined
    }, 120_000)
    assert.match(await fetchIn(cluster.nodes[home].engine, `http://127.0.0.1:${PORT}/`), /Hello from minga/, `the new container ${fresh.id.slice(0, 12)} has the port`)
  })
})

async function waitValue<T> (cluster: DockerCluster, what: string, check: () => Promise<T | undefined>, timeoutMs = 90_000): Promise<T> {
  let value: T | undefined
  await cluster.waitFor(what, async () => (value = await check()) !== undefined, timeoutMs)
  return value!
}

const FETCH = 'fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then(async r => console.log(await r.text()), e => { console.log(e.cause?.code ?? e.name) })'

/** GET a URL from inside the engine's network namespace, where its published ports are */
async function fetchIn (engine: Engine, url: string): Promise<string> {
  const { stdout } = await exec('nsenter', [`--net=${engine.netns!}`, process.execPath, '-e', FETCH, url], { timeout: 15_000 })
  return stdout
}

test.run()

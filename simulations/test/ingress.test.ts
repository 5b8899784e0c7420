/**
 * The routing mesh's model on the virtual clock (ingress-small: 12 nodes on
 * a LAN, clients looping against a node that runs no replica of `web`, the
 * node of a replica killed at 30 s): the failover gap is bounded by what the
 * entry node knows (its failure detector), a dead replica's node is retried
 * (refused, not timed out, when its host answers), and the summary's
 * figures are those of the request events. The entry node holds a
 * connection to every node it forwards to, so it sees a killed process's
 * close as the reset arrives and declares it dead a round trip later; the
 * tests of what happens in between delay the reset (`crashDisconnect`, as a
 * loaded host's kernel and event loop do) to widen that window.
 */
import { readFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { runScenario, writeResults, type Action, type RequestEvent, type Scenario, type SimResult } from '../src/index.js'
import { scenario } from './helpers.js'

const KILL_AT = 30_000

/** ingress-small with `replicas` of web and the kill of one node that runs it; also when the entry node declared that node dead */
async function run (patch: { replicas: number, clients?: number, kill: Partial<Extract<Action, { kind: 'kill' }>>, crashDisconnect?: number }): Promise<{ result: SimResult, victim: number, entryKnewAt: number | null }> {
  const base = await scenario('ingress-small')
  const s: Scenario = {
    ...base,
    network: { ...base.network, crashDisconnect: patch.crashDisconnect ?? base.network.crashDisconnect },
    ingress: { ...base.ingress!, replicas: patch.replicas, clients: patch.clients ?? 1 },
    timeline: [{ at: KILL_AT, kind: 'kill', nodes: 1, silent: false, serving: 'web', ...patch.kill }]
  }
  let victim = -1
  /** node-dead verdicts about the victim: [observer, virtual ms] */
  const verdicts: Array<[number, number]> = []
  const result = await runScenario(s, {
    onCluster: (cluster) => {
      cluster.sim.at(cluster.sim.epoch + KILL_AT - 1, () => { victim = cluster.live.find(n => n.running().some(r => r.service === 'org-01/web'))?.index ?? -1 })
      cluster.onEvent((node, event) => {
        if (event.kind === 'node-dead' && victim >= 0 && event.subject === cluster.nodes[victim].id) verdicts.push([node.index, cluster.sim.elapsed])
      })
    }
  })
  const entry = result.summary.ingress?.entry?.index
  return { result, victim, entryKnewAt: verdicts.find(([observer]) => observer === entry)?.[1] ?? null }
}

/** the longest time between two answers of one client, from the events alone */
function longestGap (events: RequestEvent[]): number {
  let gap = 0
  const clients = new Set(events.map(e => e.client))
  for (const client of clients) {
    const ends = events.filter(e => e.client === client && e.ok).map(e => e.end).sort((a, b) => a - b)
    for (let i = 1; i < ends.length; i++) gap = Math.max(gap, ends[i] - ends[i - 1])
  }
  return gap
}

test('route failover: with two replicas, a silent node\'s connections wait only until the entry node declares it dead, and none fails', async () => {
  const { result, victim, entryKnewAt } = await run({ replicas: 2, kill: { silent: true } })
  const figures = result.summary.ingress!
  assert.ok(victim >= 0 && victim !== figures.entry!.index, 'a node that runs a replica, not the entry, was killed')
  assert.is(figures.failedRequests, 0)
  assert.ok(entryKnewAt !== null, 'the entry node declared the killed node dead')
  const detection = entryKnewAt - KILL_AT
  // bounded by detection: the attempt on the silent node ends when the entry's view drops it, then the other replica answers
  assert.ok(figures.gapMs <= detection + 50, `gap ${figures.gapMs} ms, the entry node knew after ${detection} ms`)
  assert.ok(detection < 5000, `detection (${detection} ms) came before the attempt timeout, so the bound is detection's`)
  const stuck = result.requests!.find(e => e.attempts.some(a => a.node === victim && a.outcome === 'gone'))
  assert.ok(stuck !== undefined && stuck.ok, 'the attempt on the silent node ended as gone, and the request was answered by the other replica')
  assert.is.not(stuck.node, victim)
})

test('route failover after a crash: the entry node knows within a round trip or two, and the other replica answers', async () => {
  const { result, victim, entryKnewAt } = await run({ replicas: 2, kill: {} })
  const figures = result.summary.ingress!
  assert.is(figures.failedRequests, 0)
  assert.ok(figures.gapMs < 100, `gap ${figures.gapMs} ms`)
  assert.ok(entryKnewAt !== null && entryKnewAt - KILL_AT <= 5, `the entry node saw the close and its refused dial: dead after ${entryKnewAt! - KILL_AT} ms`)
  assert.ok(result.requests!.filter(e => e.start > KILL_AT + 5).every(e => e.attempts.every(a => a.node !== victim)), 'no later request tries the dead node')
})

test('route failover after a crash whose reset is late: while the entry node still lists the node, its host refuses at once and the other replica answers', async () => {
  const { result, victim } = await run({ replicas: 2, kill: {}, crashDisconnect: 100 })
  const figures = result.summary.ingress!
  assert.is(figures.failedRequests, 0)
  assert.ok(figures.gapMs < 150, `gap ${figures.gapMs} ms`)
  assert.ok(result.requests!.some(e => e.ok && e.attempts[0].node === victim && e.attempts[0].outcome === 'refused'), 'a refusal from the killed node, then an answer')
})

let single: Awaited<ReturnType<typeof run>>

test('a dead replica\'s node is retried by an entry node without a local replica until the mesh moves the replica; only a request whose bytes were on it fails', async () => {
  single = await run({ replicas: 1, clients: 2, kill: {}, crashDisconnect: 100 })
  const { result, victim } = single
  const figures = result.summary.ingress!
  const entry = figures.entry!.index
  const failed = result.requests!.filter(e => !e.ok)
  assert.ok(failed.every(e => e.start < KILL_AT && e.attempts.at(-1)?.node === victim && e.attempts.at(-1)?.outcome === 'ok' && /reset/.test(e.error ?? '')), `only a request the dead node had accepted before it died fails, reset: ${JSON.stringify(failed)}`)
  assert.is(figures.failedRequests, failed.length)
  const before = result.requests!.filter(e => e.end < KILL_AT)
  assert.ok(before.length > 100 && before.every(e => e.ok && e.node === victim && e.node !== entry), 'before the kill every answer crossed the mesh from the one replica')
  const held = result.requests!.filter(e => e.attempts.length > 1)
  assert.ok(held.length >= 1, 'connections in flight at the kill were held')
  for (const e of held) {
    const onVictim = e.attempts.filter(a => a.node === victim)
    // a forward the node took just before it died is reset when its process dies (the kernel's reset crosses the link)
    assert.ok(onVictim.length >= 1 && onVictim.every(a => a.outcome === 'refused' && a.ms < 250), `each try was refused (kill -9: the host sends RST), not timed out (${JSON.stringify(e.attempts)})`)
    assert.ok(e.ok && e.node !== victim && e.node !== entry, 'then a new replica on another node answered')
  }
  assert.ok(held.some(e => e.attempts.filter(a => a.node === victim && a.outcome === 'refused').length >= 2), 'the dead node was retried while the view still listed it')
  const after = result.requests!.filter(e => e.start > figures.gapTo! * 1000)
  assert.ok(after.length > 100 && after.every(e => e.ok && e.node !== victim), 'after the gap every answer came from the moved replica')
  // the gap is the failover: detection (a refusal: at once), a new placement, the start of the standby (500 ms) and minga's first probe
  assert.ok(figures.gapMs > 500 && figures.gapMs < 6000, `gap ${figures.gapMs} ms`)
})

test('the summary\'s figures are those of the request events, in the summary and in what writeResults writes', async () => {
  const { result } = single
  const events = result.requests!
  const figures = result.summary.ingress!
  assert.is(figures.clients, 2)
  assert.equal(new Set(events.map(e => e.client)), new Set([0, 1]))
  assert.is(figures.requests, events.length)
  assert.is(figures.failedRequests, events.filter(e => !e.ok).length)
  assert.is(figures.gapMs, longestGap(events))
  assert.is(figures.retried, events.filter(e => e.ok && e.attempts.length > 1).length)
  assert.is(figures.attempts.ok, events.filter(e => e.ok || e.attempts.at(-1)?.outcome === 'ok').length, 'one accepted attempt per answer, and per request reset after its replica accepted it')
  assert.is(Object.values(figures.answeredBy).reduce((a, b) => a + b, 0), events.length - figures.failedRequests)
  const answers = events.filter(e => e.ok).map(e => e.end - e.start).sort((a, b) => a - b)
  assert.is(figures.answerMs.max, answers.at(-1))
  const dir = await mkdtemp(join(tmpdir(), 'minga-sim-ingress-'))
  try {
    await writeResults(result, dir)
    const written = JSON.parse(await readFile(join(dir, 'summary.json'), 'utf8'))
    const samples = JSON.parse(await readFile(join(dir, 'samples.json'), 'utf8'))
    assert.equal(written.ingress, JSON.parse(JSON.stringify(figures)))
    assert.is(samples.requests.length, events.length)
    assert.is(longestGap(samples.requests), written.ingress.gapMs)
    const report = await readFile(join(dir, 'report.html'), 'utf8')
    assert.match(report, `${figures.requests} requests, ${figures.failedRequests} failed`)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()

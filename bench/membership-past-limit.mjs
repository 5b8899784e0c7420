// membership-past-limit: the real membership protocol (core/membership: SWIM + Lifeguard) on real libp2p hosts over
// TCP on 127.0.0.1, with more live members than a host keeps connections. Each host is what a node's daemon builds
// (defaults(): TCP, the private network, Noise, yamux, identify, gossipsub; Libp2pMesh with membership's shared
// request stream; ConnectionTrim with its production grace), its share of the hosts in one of
// MEMBERSHIP_PAST_LIMIT_PROCESSES (default 2) child processes (bench/lib/membership-hosts.mjs). Every member probes
// every other in turn, so past the limit a share of the probes dial a new connection, and the trim closes the
// newest idle ones again: what that costs and whether the protocol holds.
// Default 20 members keeping 14 connections (MEMBERSHIP_PAST_LIMIT_N, MEMBERSHIP_PAST_LIMIT_LIMIT; LIMIT=200 is the
// production CONNECTION_LIMITS). The production shape, 250 members keeping 200, does not fit a 2-core machine: a
// real host costs ~9 ms of CPU a second idle, so 250 of them need more than two cores before any dial; and each
// connection's life costs its two ends ~0.1 s of CPU here (Noise's key agreements, identify, the streams, the close),
// so 30 members keeping 20 already saturate both cores (docs/ARCHITECTURE.md, "Past the connection limit").
// Measured:
// - memory: the processes' resident memory before the meeting and once met, and the connection ends the hosts hold
//   then (with no limit, what keeping a connection costs);
// - the meeting: members start MEMBERSHIP_PAST_LIMIT_STAGGER_MS (100) apart; how long until every member has heard
//   from every other (at most MEMBERSHIP_PAST_LIMIT_MEET_S, 300; `met` says whether it did);
// - idle (MEMBERSHIP_PAST_LIMIT_IDLE_S, 60): members suspected or declared dead while all live (false positives),
//   membership's requests per member and second and those that failed (by reason), its bytes, the most connections
//   a host held, the peers trimmed and the extra connections closed (a pair that dialled each other at once), CPU per member and second, and the event loops' delay (the hosts share
//   two cores: a loaded process answers late, and the delay says how much of that there was);
// - a kill: MEMBERSHIP_PAST_LIMIT_KILLS hosts (3) stop at once; how long until every survivor has declared each
//   dead (p50 and the slowest), and any live member declared dead meanwhile. A stopped host closes its connections
//   and its port refuses: the fast path, as a killed daemon's.
// MEMBERSHIP_PAST_LIMIT_PROF=DIR writes each process's CPU profile there.
//   npx tsc -b && node bench/membership-past-limit.mjs
import { fork } from 'node:child_process'
import { loadavg } from 'node:os'
import { fileURLToPath } from 'node:url'
import { percentile } from './lib/stats.mjs'

const N = Number(process.env.MEMBERSHIP_PAST_LIMIT_N ?? 20)
const PROCESSES = Number(process.env.MEMBERSHIP_PAST_LIMIT_PROCESSES ?? 2)
const IDLE_S = Number(process.env.MEMBERSHIP_PAST_LIMIT_IDLE_S ?? 60)
const KILLS = Number(process.env.MEMBERSHIP_PAST_LIMIT_KILLS ?? 3)
const LIMIT = Number(process.env.MEMBERSHIP_PAST_LIMIT_LIMIT ?? 14)
const STAGGER = Number(process.env.MEMBERSHIP_PAST_LIMIT_STAGGER_MS ?? 100)
/** the mesh has this long to meet (every member heard from every other); past it the idle window starts anyway */
const MEET_S = Number(process.env.MEMBERSHIP_PAST_LIMIT_MEET_S ?? 300)
let met = true
const WORKER = fileURLToPath(new URL('./lib/membership-hosts.mjs', import.meta.url))

const t0 = performance.now()
const since = () => Math.round(performance.now() - t0)
const workers = []
/** each worker's messages, in order, by type */
const inbox = []
const waiters = []
const deliver = () => {
  for (let i = waiters.length - 1; i >= 0; i--) {
    const w = waiters[i]
    const at = inbox.findIndex(w.match)
    if (at >= 0) { waiters.splice(i, 1); w.resolve(inbox.splice(at, 1)[0]) }
  }
}
const next = (match) => new Promise(resolve => { waiters.push({ match, resolve }); deliver() })
const all = async (type) => await Promise.all(workers.map(async (_, w) => await next(m => m.worker === w && m.type === type)))

// hosts split over the processes; each makes its identities and listens, then all learn every address
const share = Math.ceil(N / PROCESSES)
for (let w = 0; w < PROCESSES; w++) {
  const child = fork(WORKER, [], { serialization: 'advanced', execArgv: ['--max-old-space-size=8192', ...(process.env.MEMBERSHIP_PAST_LIMIT_PROF === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${process.env.MEMBERSHIP_PAST_LIMIT_PROF}`])] })
  child.on('message', (m) => { inbox.push({ ...m, worker: w }); deliver() })
  child.on('exit', (code) => { if (code !== 0) { console.error(`membership-past-limit: worker ${w} exited with ${code}`); process.exit(1) } })
  workers.push(child)
  child.send({ type: 'start', count: Math.min(share, N - w * share), limit: LIMIT })
}
const started = await all('started')
const hosts = started.flatMap(m => m.hosts)
const ids = hosts.map(h => h.id).sort()
const owner = new Map(started.flatMap((m, w) => m.hosts.map(h => [h.id, w])))
for (const [w, child] of workers.entries()) child.send({ type: 'members', hosts, stagger: STAGGER, offset: w, processes: PROCESSES })
await all('running')
process.stderr.write(`membership-past-limit: ${N} hosts in ${PROCESSES} processes started at ${since()} ms\n`)

const sum = (rs, f) => rs.reduce((s, r) => s + f(r), 0)
/** why requests failed between two reports: reason → count, most first */
const failureCounts = (later, earlier) => {
  const out = new Map()
  for (const r of later) for (const [why, n] of Object.entries(r.failures)) out.set(why, (out.get(why) ?? 0) + n)
  for (const r of earlier) for (const [why, n] of Object.entries(r.failures)) out.set(why, out.get(why) - n)
  return Object.fromEntries([...out].filter(([, n]) => n > 0).sort((a, b) => b[1] - a[1]))
}
// every member has heard from every other (each probe answered counts): the mesh has met
const report = async () => (await Promise.all(workers.map(async (child, w) => { child.send({ type: 'report' }); return await next(m => m.worker === w && m.type === 'report') })))
const initial = await report()
for (;;) {
  const reports = await report()
  const counts = reports.flatMap(r => r.heardCounts)
  const least = Math.min(...counts)
  process.stderr.write(`membership-past-limit: ${since()} ms, members heard from (of ${N - 1}): least ${least}, p10 ${percentile(counts, 10)}, p50 ${percentile(counts, 50)}; requests ${sum(reports, r => r.requests)} (${sum(reports, r => r.failedRequests)} failed), suspicions ${sum(reports, r => r.suspicions)}, deaths ${sum(reports, r => r.deaths)}, event loop p99 ${Math.max(...reports.map(r => r.delayP99Ms))} ms\n`)
  if (least >= N - 1) break
  if (since() > MEET_S * 1000) { met = false; break }
  await new Promise(resolve => setTimeout(resolve, 5000))
}
const metAt = since()

// idle
const before = await report()
// what the hosts hold once met: resident memory and connection ends, against a report taken before any membership ran
const memory = { startRssMb: sum(initial, r => r.rssMb), metRssMb: sum(before, r => r.rssMb), connectionEnds: sum(before, r => r.connections) }
await new Promise(resolve => setTimeout(resolve, IDLE_S * 1000))
const after = await report()
const idle = {
  seconds: IDLE_S,
  falseSuspicions: sum(after, r => r.suspicions) - sum(before, r => r.suspicions),
  falseDeaths: sum(after, r => r.deaths) - sum(before, r => r.deaths),
  // membership's requests (pings, ping-reqs, gossip, push-pull) and those that failed (no answer in time, refused)
  requestsPerMemberSecond: Math.round((sum(after, r => r.requests) - sum(before, r => r.requests)) / N / IDLE_S * 100) / 100,
  failedRequests: sum(after, r => r.failedRequests) - sum(before, r => r.failedRequests),
  membershipBytesPerMemberSecond: Math.round((sum(after, r => r.bytes) - sum(before, r => r.bytes)) / N / IDLE_S),
  mostConnections: Math.max(...after.map(r => r.mostConnections)),
  trimmed: sum(after, r => r.trimmed) - sum(before, r => r.trimmed),
  extrasClosed: sum(after, r => r.extras) - sum(before, r => r.extras),
  eventLoopDelayP99Ms: Math.max(...after.map(r => r.delayP99Ms)),
  cpuMsPerMemberSecond: Math.round((sum(after, r => r.cpuMs) - sum(before, r => r.cpuMs)) / N / IDLE_S * 100) / 100,
  failures: failureCounts(after, before)
}

// kill: KILLS hosts, spread over the processes, stop at once; every survivor must declare each dead
const victims = ids.filter((_, i) => i % Math.floor(N / KILLS) === 0).slice(0, KILLS)
const killedAt = Date.now()
for (const [w, child] of workers.entries()) child.send({ type: 'kill', victims, mine: victims.filter(v => owner.get(v) === w) })
await all('killed')
let verdicts
for (;;) {
  const reports = await report()
  verdicts = reports.flatMap(r => r.verdicts)
  const waiting = (N - KILLS) * KILLS - verdicts.length
  if (waiting === 0 || Date.now() - killedAt > 60_000) break
  await new Promise(resolve => setTimeout(resolve, 1000))
}
const delays = verdicts.map(v => v.at - killedAt)
const final = await report()
for (const child of workers) child.send({ type: 'stop' })
await all('stopped')

console.log(JSON.stringify({
  name: 'membership-past-limit',
  members: N,
  processes: PROCESSES,
  connectionLimit: after[0].connectionLimit,
  met,
  metMs: metAt,
  loadAvg1m: Math.round(loadavg()[0] * 10) / 10,
  memory,
  idle,
  kill: {
    victims: KILLS,
    verdicts: delays.length,
    expected: (N - KILLS) * KILLS,
    p50Ms: percentile(delays, 50) ?? null,
    maxMs: delays.length === 0 ? null : Math.max(...delays),
    // live members declared dead by anyone since the idle window's end
    falseDeaths: sum(final, r => r.deaths) - sum(after, r => r.deaths)
  },
  ms: since()
}))

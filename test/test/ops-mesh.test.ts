/**
 * Operating a mesh of three real node processes (memory runtime), through
 * the CLI and the HTTP endpoint: `minga logs` gathers every replica's lines
 * in time order and `-f` follows a replica to its new node after kill -9;
 * `minga events` shows what every node did; /metrics is valid Prometheus
 * text with minga's and libp2p's series; `minga status` says what to look
 * at; the new routes answer bad requests with clear errors.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { followMinga, startCluster, waitFor, type Cluster, type MingaNode } from '../src/index.js'
import { httpOf, parsePrometheus } from './ops-helpers.js'

let mesh: Cluster
let dir: string
/** the node the follow test kills */
let victim: MingaNode

/** each replica prints its lines a fifth of a second apart, then keeps running */
const TALK = `name: talk
image: minga/busybox:1
command: ["sh", "-c", "echo hello; sleep 0.2; echo one; sleep 0.2; echo two >&2; sleep 0.2; echo three; sleep 3600"]
replicas: 3
spread: node
resources: { cpu: 100m, memory: 32Mi }
`
const TICKS = Array.from({ length: 300 }, (_, i) => `echo tick-${i}; sleep 0.2`).join('; ')
const CHAT = `name: chat
image: minga/busybox:1
command: ["sh", "-c", "${TICKS}"]
replicas: 2
spread: node
resources: { cpu: 100m, memory: 32Mi }
`

test.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'minga-ops-'))
  mesh = await startCluster({ nodes: ['acme', 'acme', 'riverside'], upArgs: ['--http', '127.0.0.1:0'] })
})

test.after(async () => {
  await mesh?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function deploy (node: MingaNode, name: string, text: string): Promise<void> {
  const file = join(dir, `${name}.yaml`)
  await writeFile(file, text)
  const run = await mesh.cli(node, 'deploy', '-f', file, '--wait', '--timeout', '60s')
  assert.is(run.status, 0, run.stderr)
}

test('minga logs gathers the lines of every replica from every node, in time order, labelled', async () => {
  const [n1, , n3] = mesh.nodes
  await deploy(n1, 'talk', TALK)
  let lines: any[] = []
  let rows: any[] = []
  // a replica may start somewhere else first while the mesh settles: wait for the copy on its assigned node
  const onAssigned = (replica: number): any[] => lines.filter(l => l.replica === replica && l.node === rows.find(r => r.replica === replica)?.assigned)
  await waitFor(async () => {
    rows = await mesh.json(n3, 'ps', 'acme/talk')
    const run = await mesh.cli(n3, 'logs', 'acme/talk', '--json')
    lines = run.stdout.trim().split('\n').filter(Boolean).map(l => JSON.parse(l)).filter(i => i.type === 'line')
    return [0, 1, 2].every(r => onAssigned(r).length === 4)
  }, { label: 'four lines of each replica', message: () => JSON.stringify({ rows, lines }) })
  for (let i = 1; i < lines.length; i++) assert.ok(lines[i].time >= lines[i - 1].time, 'merged by time')
  const keys = lines.map(l => `${l.node} ${l.container} ${l.time} ${l.text}`)
  assert.is(new Set(keys).size, keys.length, 'no line twice')
  for (const replica of [0, 1, 2]) {
    const own = onAssigned(replica)
    assert.equal(own.map(l => l.text), ['hello', 'one', 'two', 'three'], `replica ${replica} on its node`)
    assert.is(own[2].stream, 'stderr')
    assert.is(new Set(own.map(l => l.container)).size, 1)
  }
  assert.is(new Set(lines.map(l => l.node)).size, 3, 'spread over the three nodes, and read from all of them')
  const peers = new Set(mesh.nodes.map(n => n.peerId))
  assert.ok(lines.every(l => peers.has(l.node)), 'labelled with member nodes')

  // NAME alone is a service of this node's organization: ask an acme node
  const human = await mesh.cli(mesh.nodes[1], 'logs', 'talk', '--replica', '1', '--tail', '2')
  assert.is(human.status, 0, human.stderr)
  assert.match(human.stdout, /^\d{4}-\d\d-\d\dT[\d:.]+Z \w{8} #1 {2}three$/m)
  // like docker logs: the containers' stderr lines go to stdout too, so "minga logs talk | tail" shows them
  assert.equal(human.stdout.trim().split('\n').map(l => l.split('  ').at(-1)), ['two', 'three'], 'stdout has both lines, the stderr one included')
  assert.is(human.stderr, '')
  const split = await mesh.cli(mesh.nodes[1], 'logs', 'talk', '--replica', '1', '--tail', '2', '--split-streams')
  assert.is(split.status, 0, split.stderr)
  assert.equal(split.stdout.trim().split('\n').map(l => l.split('  ').at(-1)), ['three'], 'with --split-streams stdout has the stdout line')
  assert.match(split.stderr, /#1 {2}two$/m)
})

test('minga ps NAME finds another organization\'s service when the name is unique; ps of no such service exits 1', async () => {
  const riverside = mesh.nodes[2]
  const rows = await mesh.json(riverside, 'ps', 'talk')
  assert.is(rows.length, 3, JSON.stringify(rows))
  assert.ok(rows.every((r: any) => r.service === 'acme/talk'))
  const table = await mesh.cli(riverside, 'ps', 'talk')
  assert.match(table.stdout, /^acme\/talk\s+0\s/m)
  for (const name of ['nosuch', 'acme/nosuch']) {
    const missing = await mesh.cli(riverside, 'ps', name)
    assert.is(missing.status, 1, `ps ${name}: ${missing.stdout}`)
    assert.match(missing.stderr, /No service .*nosuch in the mesh; "minga ls" lists the services/)
    assert.is(missing.stdout, '', 'no empty table')
  }
  const logs = await mesh.cli(riverside, 'logs', 'talk', '--tail', '1')
  assert.is(logs.status, 0, logs.stderr)
  const rm = await mesh.cli(riverside, 'rm', 'talk')
  assert.is(rm.status, 1)
  assert.match(rm.stderr, /Only members of acme change its services/)
})

test('minga scale never restarts a running replica; 3 → 0 → 3 and redeploying the file change nothing', async () => {
  const [n1, n2] = mesh.nodes
  const file = 'name: scaled\nimage: minga/busybox:1\nreplicas: 3\nspread: node\nupdate: { maxUnavailable: 2 }\nresources: { cpu: 50m, memory: 16Mi }\n'
  await deploy(n1, 'scaled', file)
  const healthy = async (n: number): Promise<boolean> => (await mesh.json(n2, 'ls')).find((s: any) => s.id === 'acme/scaled')?.updated === n
  const lifecycle = async (since: number): Promise<string[]> => (await mesh.cli(n2, 'events', '--json', '--since', new Date(since).toISOString(), '--kind', 'replica-start,replica-stop,replica-crash')).stdout
    .trim().split('\n').filter(Boolean).map(l => JSON.parse(l)).filter((e: any) => e.type === 'event' && e.subject.startsWith('acme/scaled#')).map((e: any) => `${e.kind} ${e.subject}`)
  const before = Date.now()
  assert.is((await mesh.cli(n1, 'scale', 'scaled=5')).status, 0)
  await waitFor(async () => await healthy(5), { label: 'five replicas' })
  assert.equal((await lifecycle(before)).sort(), ['replica-start acme/scaled#3', 'replica-start acme/scaled#4'], 'scaling up started two and stopped none')
  for (const count of [1, 0, 3]) {
    const scaled = await mesh.cli(n1, 'scale', `scaled=${count}`)
    assert.is(scaled.status, 0, scaled.stderr)
    await waitFor(async () => count === 0 ? (await mesh.json(n2, 'ls')).find((s: any) => s.id === 'acme/scaled')?.running === 0 : await healthy(count), { label: `${count} replicas` })
  }
  assert.ok((await lifecycle(before)).every(e => !e.startsWith('replica-crash')), 'minga\'s own stops are no crashes')
  const redeployed = Date.now()
  const again = await mesh.cli(n1, 'deploy', '-f', join(dir, 'scaled.yaml'))
  assert.match(again.stdout, /^acme\/scaled: unchanged$/m, 'the file deploys unchanged: scaling rewrote nothing')
  assert.equal(await lifecycle(redeployed), [], 'and nothing restarted')
})

test('minga ls during a halted rolling update shows the old copies serving', async () => {
  const [n1] = mesh.nodes
  await deploy(n1, 'halting', 'name: halting\nimage: minga/busybox:1\nreplicas: 2\nspread: node\nresources: { cpu: 50m, memory: 16Mi }\n')
  await writeFile(join(dir, 'halting.yaml'), 'name: halting\nimage: minga/busybox:2\nreplicas: 2\nspread: node\nresources: { cpu: 50m, memory: 16Mi }\nhealth: { cmd: [sh, -c, "echo no database; exit 1"], interval: 1s, retries: 1 }\n')
  assert.is((await mesh.cli(n1, 'deploy', '-f', join(dir, 'halting.yaml'))).status, 0)
  const row = await waitFor(async () => {
    const ls = await mesh.cli(n1, 'ls')
    return /^acme\/halting\s+-\s+minga\/busybox:2\s+1\/2\s+0\/2\s/m.test(ls.stdout) ? ls.stdout : undefined
  }, { label: 'ls shows one replica served by the old spec, none on the new one' })
  assert.match(row, /SERVICE\s+PROJECT\s+IMAGE\s+HEALTHY\s+UP-TO-DATE\s+RUNNING/)
  await waitFor(async () => /failing its health check: exit 1, "no database"/.test((await mesh.cli(n1, 'ps', 'halting')).stdout), { label: 'ps shows the failing probe' })
  assert.is((await mesh.cli(n1, 'rm', 'halting')).status, 0)
})

test('minga events shows what every node did, merged by time', async () => {
  const [n1, n2] = mesh.nodes
  const events = (await mesh.cli(n2, 'events', '--json', '--since', '10m')).stdout.trim().split('\n').map(l => JSON.parse(l)).filter(e => e.type === 'event')
  for (let i = 1; i < events.length; i++) assert.ok(events[i].time >= events[i - 1].time, 'merged by time')
  const kinds = new Set(events.map(e => e.kind))
  for (const kind of ['node-joined', 'node-up', 'deploy', 'placement', 'replica-start']) assert.ok(kinds.has(kind), `has ${kind}: ${[...kinds].join(',')}`)
  assert.is(new Set(events.map(e => e.node)).size, 3, 'events of every node')
  const deploys = events.filter(e => e.kind === 'deploy')
  assert.ok(deploys.length > 0 && deploys.every(e => e.node === n1.peerId), 'the deploy is told by the node that did it')
  const starts = events.filter(e => e.kind === 'replica-start' && e.subject.startsWith('acme/talk#'))
  assert.ok(new Set(starts.map(e => e.node)).size === 3, 'each node told of the replica it started')
  // with membership, nodes hear of a join at different moments (often more than the echo window apart), so a node-up
  // need not have several observers; what must hold is that echoes of one change within the window are one event
  const ups = events.filter(e => e.kind === 'node-up')
  assert.ok(ups.length > 0, 'node-up events')
  for (const [i, a] of ups.entries()) {
    for (const b of ups.slice(i + 1)) assert.not.ok(a.subject === b.subject && a.node !== b.node && b.time - a.time <= 10_000, `echoes of one liveness change are one event with its observers: ${JSON.stringify([a, b])}`)
  }
})

test('minga logs -f follows a replica to its new node after kill -9 of the node that ran it', async () => {
  const [n1, , n3] = mesh.nodes
  await deploy(n1, 'chat', CHAT)
  const rows: any[] = await mesh.json(n3, 'ps', 'acme/chat')
  const victimPeer = rows.map(r => r.assigned).find(p => p !== n3.peerId)
  victim = mesh.nodes.find(n => n.peerId === victimPeer)!
  const moved = rows.find(r => r.assigned === victimPeer).replica
  const follower = followMinga(n3.dir, 'logs', 'acme/chat', '-f', '--json')
  const items = follower.items
  try {
    await waitFor(() => items.some(i => i.type === 'line' && i.node === victimPeer), { label: 'lines from the victim', message: () => JSON.stringify(items.slice(-5)) })
    const killedAt = Date.now()
    await mesh.kill9(victim)
    await waitFor(() => items.some(i => i.type === 'line' && i.replica === moved && i.node !== victimPeer && i.time > killedAt), {
      timeoutMs: 45_000, label: 'the moved replica\'s lines', message: () => `${JSON.stringify(items.slice(-8))}\n${mesh.logs(8)}`
    })
    assert.ok(items.some(i => i.type === 'notice' && i.node === victimPeer), 'the reader was told the node went away')
    const lines = items.filter(i => i.type === 'line')
    const keys = lines.map(l => `${l.node} ${l.container} ${l.time} ${l.text}`)
    assert.is(new Set(keys).size, keys.length, 'no line twice')
    for (const replica of [0, 1]) {
      const own = lines.filter(l => l.replica === replica && l.node !== victimPeer)
      const ticks = own.filter(l => l.node === own[0]?.node && l.container === own[0]?.container).map(l => l.text)
      assert.equal(ticks, ticks.map((_, i) => `tick-${i}`), `replica ${replica}: its container's lines in order, none missing`)
    }
  } finally {
    follower.stop()
  }
  await mesh.up(victim)
})

test('after a kill, mesh-wide events show one node-dead seen by both survivors, found by the closed connection', async () => {
  const survivor = mesh.nodes.find(n => n !== victim)!
  await waitFor(async () => (await mesh.json(survivor, 'nodes')).every((n: any) => n.status === 'alive'), { label: 'all alive again' })
  const events = (await mesh.cli(survivor, 'events', '--json', '--since', '10m', '--kind', 'node-dead')).stdout.trim().split('\n').map(l => JSON.parse(l)).filter(e => e.type === 'event')
  const liveness = async (): Promise<string> => (await mesh.cli(survivor, 'events', '--json', '--since', '10m')).stdout.trim().split('\n').map(l => JSON.parse(l))
    .filter(e => e.type === 'event' && e.subject === victim.peerId).map(e => `${e.time} ${e.node.slice(-6)} ${e.kind} ${e.reason} (${e.observers ?? 1})`).join('\n')
  if (events.length !== 1) assert.unreachable(`one node-dead event for the killed node, not ${events.length}:\n${await liveness()}`)
  assert.is(events[0].subject, victim.peerId)
  assert.is(events[0].observers, 2, `observed by both survivors: ${JSON.stringify(events)}`)
  // its connections closed: found by a refused dial, after the disconnect or after a missed probe (then a dial of its libp2p
  // address or of its plain TCP port, whichever refuses first), as comes first on a busy machine (the core test
  // failure-detector.test.ts shows the refused dial on its own); never by a suspicion running out
  assert.match(events[0].reason, /^(connection closed|no answer to a probe) and its (address|port) refuses connections$/, JSON.stringify(events))
  const human = await mesh.cli(survivor, 'events', '--kind', 'node-dead')
  assert.match(human.stdout, /node-dead\s+\w{8}\s+.*\(seen by 2 nodes\)/)
})

test('/metrics is valid Prometheus text with the mesh\'s series', async () => {
  const n1 = mesh.nodes.find(n => n !== victim)!
  const response = await fetch(new URL('/metrics', httpOf(n1)))
  assert.is(response.status, 200)
  assert.match(response.headers.get('content-type') ?? '', /text\/plain/)
  const families = parsePrometheus(await response.text())
  const value = (name: string, labels: Record<string, string> = {}): number | undefined =>
    families.get(name)?.samples.find(s => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
  assert.is(value('minga_nodes', { state: 'alive' }), 3, 'nodes by state')
  assert.is(value('minga_service_replicas_desired', { service: 'acme/talk' }), 3, 'desired replicas')
  // each node exports its own copies (a scrape asks no other node): the mesh's healthy replicas are their sum
  let healthy = 0
  for (const node of mesh.nodes) {
    const own = parsePrometheus(await (await fetch(new URL('/metrics', httpOf(node)))).text())
    healthy += own.get('minga_node_replicas')?.samples.find(s => s.labels.service === 'acme/talk' && s.labels.state === 'healthy')?.value ?? 0
  }
  assert.ok(healthy >= 3, `healthy copies over the nodes: ${healthy}`)
  assert.ok((value('minga_membership_probes_total', { result: 'sent' }) ?? 0) > 0, 'membership probes its peers')
  assert.ok(families.has('minga_membership_local_health') && families.has('minga_membership_suspects'), 'Lifeguard\'s local health and the suspects')
  for (const name of ['minga_sync_disagreeing_nodes', 'minga_sync_entries_pulled_total', 'minga_reconcile_actions_total', 'minga_reconcile_errors_total', 'minga_entries_rejected_total', 'minga_events_total', 'minga_info']) {
    assert.ok(families.has(name), `has ${name}`)
  }
  assert.is(families.get('minga_reconcile_actions_total')?.type, 'counter', 'counters are counters')
  assert.ok((value('minga_events_total', { kind: 'node-dead' }) ?? 0) >= 1, 'events counted by kind')
  assert.ok([...families.keys()].some(n => n.startsWith('libp2p_')), 'libp2p\'s own metrics')
  assert.ok(families.has('process_cpu_user_seconds_total'), 'process metrics')
  const rebound = await new Promise<number>((resolve, reject) => {
    request(new URL('/metrics', httpOf(n1)), { headers: { host: 'evil.example:7948' } }, (res) => { res.resume(); resolve(res.statusCode ?? 0) }).on('error', reject).end()
  })
  assert.is(rebound, 403, 'a loopback listener answers loopback names only (DNS rebinding)')
})

test('minga status is one screen that says what to look at', async () => {
  const [n1, n2, n3] = mesh.nodes
  await mesh.waitForSameDigest()
  const ok = await mesh.cli(n1, 'status')
  assert.is(ok.status, 0, ok.stdout)
  assert.match(ok.stdout, /HEALTHY/)
  assert.match(ok.stdout, /nodes {5}3 of 3 alive/)
  assert.match(ok.stdout, /capacity {2}cpu/)
  await mesh.kill9(n3)
  const bad = await waitFor(async () => {
    const run = await mesh.cli(n2, 'status')
    return run.status === 1 && /dead/.test(run.stdout) ? run : undefined
  }, { label: 'status shows the dead node' })
  assert.match(bad.stdout, /NEEDS ATTENTION/)
  assert.match(bad.stdout, /What to look at:\n {2}! 1 node\(s\) dead: \w{8}/)
  await mesh.up(n3)
})

test('the new routes answer bad requests with clear errors', async () => {
  const [n1] = mesh.nodes
  const socket = join(n1.dir, 'api.sock')
  const cases: Array<[string, number, RegExp]> = [
    ['/v1/logs', 400, /Name the service/],
    ['/v1/logs?service=acme/nope', 404, /No service acme\/nope/],
    ['/v1/logs?service=talk&since=yesterday', 400, /since is a time .* or a duration back from now; a duration must be a duration like/],
    ['/v1/logs?service=talk&since=1h30m', 200, /./],
    ['/v1/logs?service=talk&tail=-3', 400, /tail is a whole number/],
    ['/v1/logs?service=talk&replica=7', 400, /has 3 replica\(s\), numbered 0 to 2/],
    ['/v1/logs?service=talk&follow=maybe', 400, /follow is 1 or 0/],
    ['/v1/logs?service=a/b/c', 400, /not a service name/],
    ['/v1/mesh/events?limit=lots', 400, /limit is a whole number/]
  ]
  for (const [path, status, message] of cases) {
    const answer = await get(socket, path)
    assert.is(answer.status, status, `${path}: ${answer.body}`)
    if (status >= 400) assert.match(JSON.parse(answer.body).error, message, path)
  }
  const cli = await mesh.cli(n1, 'logs', 'talk', '--tail', 'lots')
  assert.is(cli.status, 2)
  assert.match(cli.stderr, /--tail takes a whole number/)
  const http = await get(socket, '/v1/http')
  assert.is(JSON.parse(http.body).url, httpOf(n1))
})

async function get (socketPath: string, path: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => resolve({ status: res.statusCode ?? 0, body }))
    })
    req.on('error', reject).end()
  })
}

test.run()

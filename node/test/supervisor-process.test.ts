/**
 * The supervisor as real processes, without Docker: the daemon's link
 * starts it in a session of its own and attaches; kill -9 of the supervisor
 * brings a new one; kill -9 of the daemon's process is read at once (EOF)
 * and, after the grace, the supervisor does its round and exits. Also the
 * /proc reaper (never a pid reused by another process) and the bond's
 * input checks.
 */
import { spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { createServer } from 'node:net'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DEFAULT_SUPERVISOR_BUDGET, supervisorBoundMs } from '../src/core/supervision/budget.js'
import { DEFAULT_TIMING, FENCE_SLACK_MS, singletonFenceFor } from '../src/core/timing.js'
import { DEFAULT_MEMBERSHIP } from '../src/core/membership/config.js'
import { parseBondLine } from '../src/supervisor/bond.js'
import { LineBuffer } from '../src/supervisor/lines.js'
import { SupervisorLink } from '../src/supervisor/link.js'
import { ProcReaper, parseStat } from '../src/supervisor/proc-reaper.js'

const QUICK = { ...DEFAULT_SUPERVISOR_BUDGET, attachGraceMs: 300 }

async function waitFor<T> (what: string, check: () => Promise<T | undefined | false>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const value = await check()
    if (value !== undefined && value !== false) return value
    await sleep(50)
  }
  throw new Error(`timed out waiting for: ${what}`)
}

function running (pid: number): boolean {
  try { process.kill(pid, 0); return true } catch { return false }
}

test('the singleton fence covers the supervisor\'s bound, and grows with it', () => {
  assert.ok(DEFAULT_TIMING.singletonFence >= supervisorBoundMs() + FENCE_SLACK_MS)
  assert.is(DEFAULT_TIMING.singletonFence, 15_000)
  const slower = singletonFenceFor(DEFAULT_MEMBERSHIP, { ...DEFAULT_SUPERVISOR_BUDGET, attachGraceMs: 10_000 })
  assert.is(slower, Math.ceil((supervisorBoundMs({ ...DEFAULT_SUPERVISOR_BUDGET, attachGraceMs: 10_000 }) + FENCE_SLACK_MS) / 1000) * 1000)
})

test('/proc/PID/stat: state and start time, whatever the command name holds', () => {
  const line = '4242 (we(ird) name)) S 1 4242 4242 0 -1 4194560 100 0 0 0 1 2 0 0 20 0 1 0 987654 1000 100'
  assert.equal(parseStat(line), { state: 'S', startTime: '987654' })
  assert.is(parseStat('garbage'), undefined)
})

test('the reaper signals the process it tracked, and never another one that got its pid', async () => {
  const child = spawn('sleep', ['60'])
  const pid = child.pid!
  try {
    const reaper = new ProcReaper()
    assert.ok(reaper.track('c1', pid))
    assert.is(reaper.alive('c1'), true)
    assert.is(reaper.alive('unknown'), undefined)
    assert.not.ok(reaper.track('self', process.pid), 'never its own process')

    // a fake /proc where the pid now has another start time: the pid was reused
    const proc = await mkdtemp(join(tmpdir(), 'minga-proc-'))
    await mkdir(join(proc, String(pid)))
    const stat = (start: string): string => `${pid} (sleep) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 ${start} 0 0`
    await writeFile(join(proc, String(pid), 'stat'), stat('111'))
    const fake = new ProcReaper(proc)
    assert.ok(fake.track('c2', pid))
    await writeFile(join(proc, String(pid), 'stat'), stat('222'))
    assert.is(fake.alive('c2'), false)
    fake.signal('c2', 'SIGKILL')
    await sleep(100)
    assert.ok(running(pid), 'a reused pid is left alone')
    await rm(proc, { recursive: true })

    reaper.signal('c1', 'SIGTERM')
    await waitFor('the tracked process ends', async () => reaper.alive('c1') === false)
  } finally {
    child.kill('SIGKILL')
  }
})

test('the bond refuses what is not a bond message', () => {
  for (const bad of ['', '{}', 'null', '[]', '{"type":"attach"}', '{"type":"attach","v":"1","meshId":"m","nodeId":"n","engine":"e","pid":1}', '{"type":"refused"}', '{"type":"refused","error":"x","code":"other"}', '{"type":"nope"}']) {
    assert.throws(() => parseBondLine(bad), undefined, bad)
  }
  assert.equal(parseBondLine('{"type":"ping"}'), { type: 'ping' })
  const lines = new LineBuffer(10)
  assert.equal(lines.push('{"a"'), [])
  assert.equal(lines.push(':1}\n{"b":2}\n{'), ['{"a":1}', '{"b":2}'])
  assert.throws(() => lines.push('x'.repeat(20)), /exceeds 10/, 'a line without end costs bounded memory')
})

test('real processes: the link starts a supervisor in a session of its own, gets a new one when it is killed, and a killed daemon is read at once', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'minga-supervisor-'))
  const engine = join(dataDir, 'no-engine.sock')
  const init = { dataDir, meshId: 'abcdef0123456789', nodeId: 'node-a', engine, budget: QUICK, supervisor: { lingerMs: 300 } }
  const link = new SupervisorLink(init)
  const pids: number[] = []
  try {
    assert.match(link.problems(Date.now() + 5000).join(), /no supervisor since/, 'a node without a supervisor is a problem for minga status')
    const first = await link.start()
    pids.push(first.pid)
    assert.equal(link.problems(Date.now() + 5000), [])
    assert.equal(first.rounds, [])
    assert.ok(link.status().attached)
    const sid = (await readFile(`/proc/${first.pid}/stat`, 'utf8')).split(') ')[1].split(' ')[3]
    assert.is(sid, String(first.pid), 'the supervisor leads a session of its own')

    process.kill(first.pid, 'SIGKILL')
    const second = await waitFor('a new supervisor attached', async () => link.status().attached && link.status().pid !== first.pid && link.status().pid)
    pids.push(second)
    assert.is(link.status().restarts, 1)
    await link.stop()

    // a daemon in a process of its own, killed with kill -9: the supervisor reads EOF at once, waits the grace, does its round, exits
    const daemon = spawn(process.execPath, ['--input-type=module', '-e', `
      const { SupervisorLink } = await import(${JSON.stringify(new URL('../src/supervisor/link.js', import.meta.url).href)})
      const link = new SupervisorLink(${JSON.stringify(init)})
      const { pid } = await link.start()
      process.stdout.write(pid + '\\n')
      setInterval(() => {}, 1000)
    `], { stdio: ['ignore', 'pipe', 'inherit'] })
    const supervisor = await new Promise<number>((resolve, reject) => {
      let out = ''
      daemon.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); if (out.includes('\n')) resolve(Number(out.trim().split('\n').pop())) })
      daemon.once('exit', (code) => reject(new Error(`the daemon exited (${code}): ${out}`)))
    })
    pids.push(supervisor)
    assert.ok(supervisor > 1, `the daemon printed its supervisor pid: ${supervisor}`)
    const killedAt = Date.now()
    daemon.kill('SIGKILL')
    const log = join(dataDir, 'supervisor.log')
    const noticed = await waitFor('the supervisor notices', async () => {
      const line = (await readFile(log, 'utf8')).split('\n').find(l => l.includes(`supervisor ${supervisor}:`) && l.includes('went away'))
      return line === undefined ? undefined : Date.parse(line.slice(0, 24))
    })
    assert.ok(noticed - killedAt < 2000, `EOF read ${noticed - killedAt} ms after kill -9`)
    await waitFor('the supervisor exits after its round and lingering', async () => !running(supervisor))
    const text = await readFile(log, 'utf8')
    assert.match(text, /stopping 0 container/)
    assert.match(text, /exiting/)
    // the next daemon hears of that round although the supervisor that did it is gone (a new one attaches)
    const next = new SupervisorLink(init)
    try {
      const told: string[] = []
      next.onNotice((line) => told.push(line))
      const { pid, rounds } = await next.start()
      pids.push(pid)
      assert.is.not(pid, supervisor)
      assert.is(rounds.length, 1, JSON.stringify(rounds))
      assert.match(told.join('\n'), /while no daemon ran, the supervisor stopped 0 container/)
      assert.not.ok(existsSync(next.roundsPath), 'told once: the saved rounds are removed')
    } finally {
      await next.stop()
    }
  } finally {
    await link.stop()
    for (const pid of pids) { try { process.kill(pid, 'SIGKILL') } catch {} }
    await waitFor('every supervisor of the test ended', async () => pids.every(pid => !running(pid)))
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 })
  }
})

test('a supervisor of another version (minga upgraded) gives way: the daemon replaces it with its own', async () => {
  const dataDir = await mkdtemp(join(tmpdir(), 'minga-supervisor-'))
  const link = new SupervisorLink({ dataDir, meshId: 'abcdef0123456789', nodeId: 'node-b', engine: join(dataDir, 'no-engine.sock'), budget: QUICK, supervisor: { lingerMs: 300 } })
  const old = createServer(socket => {
    socket.once('data', () => { socket.end(JSON.stringify({ type: 'refused', code: 'version', error: 'This supervisor speaks version 0 of the bond, the daemon 1' }) + '\n') })
  })
  await new Promise<void>(resolve => old.listen(link.socketPath, resolve))
  let pid: number | undefined
  try {
    pid = (await link.start()).pid
    assert.ok(link.status().attached)
    assert.is.not(pid, process.pid)
  } finally {
    await link.stop()
    old.close()
    if (pid !== undefined) { try { process.kill(pid, 'SIGKILL') } catch {} }
    await rm(dataDir, { recursive: true, force: true, maxRetries: 5 })
  }
})

test.run()

/**
 * The Docker runtime's pure parts, without an engine: stream parsers fed
 * chunks split anywhere, event mapping, create options, names, addresses.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { containerName, createBody, networkModeFor, sanitizeName, volumeName } from '../src/runtime/docker-spec.js'
import { demuxLogs, jsonLines, parseTimestamped, toRuntimeEvent } from '../src/runtime/docker-streams.js'
import { dockerMessage, engineAddress, toRuntimeContainer } from '../src/runtime/docker-util.js'
import { LABELS } from '../src/runtime/index.js'
import type { ContainerInspectInfo } from 'dockerode'
import { replicaOf } from './runtime-fixtures.js'

async function * chunked (data: Buffer, size: number): AsyncGenerator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size)
}

async function all<T> (source: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = []
  for await (const item of source) out.push(item)
  return out
}

function frame (stream: 1 | 2, text: string): Buffer {
  const payload = Buffer.from(text)
  const header = Buffer.alloc(8)
  header[0] = stream
  header.writeUInt32BE(payload.length, 4)
  return Buffer.concat([header, payload])
}

test('jsonLines: values split across chunks anywhere; blank and broken lines skipped', async () => {
  const text = '{"a":1}\n\n{"b":"x\\ny"}\r\nnot json\n{"c":[1,2]}'
  for (const size of [1, 2, 5, 100]) {
    assert.equal(await all(jsonLines(chunked(Buffer.from(text), size))), [{ a: 1 }, { b: 'x\ny' }, { c: [1, 2] }], `chunks of ${size}`)
  }
})

test('demuxLogs: frames split anywhere give lines with stream, time and text', async () => {
  const data = Buffer.concat([
    frame(1, '2026-11-26T01:06:08.973138466Z one\n'),
    frame(2, '2026-11-26T01:06:09.000000001Z two words \n'),
    frame(1, '2026-11-26T01:06:10Z \n'),
    frame(1, '2026-11-26T01:06:11Z partial line without newline')
  ])
  for (const size of [1, 3, 8, 9, 1000]) {
    assert.equal(await all(demuxLogs(chunked(data, size))), [
      { time: Date.parse('2026-11-26T01:06:08.973Z'), stream: 'stdout', text: 'one' },
      { time: Date.parse('2026-11-26T01:06:09.000Z'), stream: 'stderr', text: 'two words ' },
      { time: Date.parse('2026-11-26T01:06:10Z'), stream: 'stdout', text: '' },
      { time: Date.parse('2026-11-26T01:06:11Z'), stream: 'stdout', text: 'partial line without newline' }
    ], `chunks of ${size}`)
  }
})

test('demuxLogs: a frame header announcing gigabytes is a corrupt stream, not an allocation', async () => {
  const header = Buffer.alloc(8)
  header[0] = 1
  header.writeUInt32BE(0xffffffff, 4)
  try {
    await all(demuxLogs(chunked(header, 8)))
    assert.unreachable('should throw')
  } catch (err) {
    assert.match((err as Error).message, 'corrupt')
  }
})

test('parseTimestamped: a line without a time keeps the previous time', () => {
  assert.equal(parseTimestamped('hello world', 42), { time: 42, text: 'hello world' })
  assert.equal(parseTimestamped('2026-11-26T01:06:10.5Z hi', 0), { time: Date.parse('2026-11-26T01:06:10.500Z'), text: 'hi' })
})

test('toRuntimeEvent: start, die with exit code, health, destroy; anything else is ignored', () => {
  const event = (Action: string, Attributes: Record<string, string> = {}): unknown => ({ Type: 'container', Action, Actor: { ID: 'c1', Attributes } })
  assert.equal(toRuntimeEvent(event('start')), { type: 'start', id: 'c1' })
  assert.equal(toRuntimeEvent(event('die', { exitCode: '137' })), { type: 'die', id: 'c1', exitCode: 137 })
  assert.equal(toRuntimeEvent(event('health_status: unhealthy')), { type: 'health', id: 'c1', health: 'unhealthy' })
  assert.equal(toRuntimeEvent(event('destroy')), { type: 'remove', id: 'c1' })
  assert.is(toRuntimeEvent(event('exec_start: sh')), undefined)
  assert.is(toRuntimeEvent({ Type: 'network', Action: 'connect', Actor: { ID: 'n' } }), undefined)
  assert.is(toRuntimeEvent(null), undefined)
  assert.is(toRuntimeEvent('garbage'), undefined)
})

test('createBody: limits, env with secrets but labels without, ports, health in ns, volumes, restart no', () => {
  const replica = {
    ...replicaOf('web', {
      env: { A: '1' },
      resources: { cpu: 1500, memory: 128 * 1024 * 1024 },
      ports: [{ container: 80, host: 8080, protocol: 'tcp' }, { container: 53, protocol: 'udp' }],
      health: { cmd: ['wget', '-q', 'localhost'], interval: 5000, timeout: 3000, retries: 3, startPeriod: 1000 },
      volumes: [{ name: 'data', path: '/data', readOnly: true }]
    }),
    secretEnv: { TOKEN: 'secret' }
  }
  const body = createBody(replica, { meshId: 'm', nodeId: 'n' })
  assert.equal(body.Env, ['A=1', 'TOKEN=secret'])
  assert.not.match(JSON.stringify(body.Labels), 'secret')
  assert.is(body.Labels?.[LABELS.service], 'acme/web')
  assert.is(body.HostConfig?.NanoCpus, 1_500_000_000)
  assert.is(body.HostConfig?.Memory, 128 * 1024 * 1024)
  assert.equal(body.HostConfig?.RestartPolicy, { Name: 'no' })
  assert.is(body.HostConfig?.Init, undefined)
  assert.equal(body.ExposedPorts, { '80/tcp': {}, '53/udp': {} })
  assert.equal(body.HostConfig?.PortBindings, { '80/tcp': [{ HostPort: '8080' }] })
  assert.equal(body.Healthcheck, { Test: ['CMD', 'wget', '-q', 'localhost'], Interval: 5e9, Timeout: 3e9, Retries: 3, StartPeriod: 1e9 })
  assert.equal(body.HostConfig?.Mounts?.map(m => [m.Source, m.Target, m.ReadOnly]), [['minga-acme-web-data', '/data', true]])
  assert.is(createBody(replica, { meshId: 'm', nodeId: 'n' }, { networkMode: 'host', init: true }).HostConfig?.PortBindings?.['80/tcp'], undefined)
  assert.is(createBody(replica, { meshId: 'm', nodeId: 'n' }, { init: true }).HostConfig?.Init, true)
})

test('createBody: entrypoint (an empty one resets the image\'s), user, tmpfs, anonymous volumes, ports bound to an address, memory reservation', () => {
  const replica = replicaOf('db', {
    entrypoint: ['uname'],
    command: ['-m', '-o'],
    user: '999:999',
    reservations: { memory: 32 * 1024 * 1024 },
    ports: [{ container: 5432, host: 5432, hostIp: '127.0.0.1', protocol: 'tcp' }, { container: 5432, host: 15432, protocol: 'tcp' }],
    volumes: [{ path: '/var/lib/data', readOnly: false }, { name: 'data', path: '/data', readOnly: true }],
    tmpfs: [{ path: '/run', size: 16 * 1024 * 1024, mode: 0o1777 }, { path: '/tmp' }]
  })
  const body = createBody(replica, { meshId: 'm', nodeId: 'n' })
  assert.equal(body.Entrypoint, ['uname'])
  assert.equal(body.Cmd, ['-m', '-o'])
  assert.is(body.User, '999:999')
  assert.is(body.HostConfig?.MemoryReservation, 32 * 1024 * 1024)
  assert.equal(body.HostConfig?.PortBindings?.['5432/tcp'], [{ HostPort: '5432', HostIp: '127.0.0.1' }, { HostPort: '15432' }])
  const mounts = body.HostConfig?.Mounts as any[]
  assert.equal(mounts.map(m => [m.Type, m.Source, m.Target]), [
    ['volume', undefined, '/var/lib/data'], ['volume', 'minga-acme-db-data', '/data'], ['tmpfs', undefined, '/run'], ['tmpfs', undefined, '/tmp']
  ])
  assert.equal(mounts[2].TmpfsOptions, { SizeBytes: 16 * 1024 * 1024, Mode: 0o1777 })
  assert.equal(mounts[3].TmpfsOptions, {})
  assert.equal(createBody(replicaOf('x', { entrypoint: [] }), { meshId: 'm', nodeId: 'n' }).Entrypoint, [''])
  assert.is(createBody(replicaOf('x'), { meshId: 'm', nodeId: 'n' }).Entrypoint, undefined)
})

test('networkModeFor: default with a bridge; none, or host for same-number ports, without', () => {
  assert.is(networkModeFor(replicaOf('web'), true), undefined)
  assert.is(networkModeFor(replicaOf('web'), false), 'none')
  assert.is(networkModeFor(replicaOf('web', { ports: [{ container: 80, protocol: 'tcp' }] }), false), 'none')
  assert.is(networkModeFor(replicaOf('web', { ports: [{ container: 80, host: 80, protocol: 'tcp' }] }), false), 'host')
  assert.throws(() => networkModeFor(replicaOf('web', { ports: [{ container: 80, host: 8080, protocol: 'tcp' }] }), false), /no bridge network/)
  // host networking listens wherever the program does: a port bound to one address cannot be honoured
  assert.throws(() => networkModeFor(replicaOf('web', { ports: [{ container: 80, host: 80, hostIp: '127.0.0.1', protocol: 'tcp' }] }), false), /cannot bind port 80\/tcp to 127.0.0.1 only/)
})

test('names: readable, valid for Docker, different per node and per spec hash', () => {
  const owner = { meshId: 'm', nodeId: '12D3KooWabc' }
  const odd = replicaOf('Web App/ü', {}, { org: '_Acme Inc', hash: 'ab/cd+ef==123456', replica: 3 })
  const name = containerName(odd, owner)
  assert.match(name, /^minga-Acme-Inc-Web-App-3-ab-cd-ef-[0-9a-f]{6}$/)
  assert.match(name, /^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/)
  assert.is.not(containerName(odd, { ...owner, nodeId: 'other' }), name)
  assert.is.not(containerName({ ...odd, hash: 'ffff0000' }, owner), name)
  assert.is(volumeName('acme', 'db', 'pg data'), 'minga-acme-db-pg-data')
  assert.is(sanitizeName('---'), 'x')
})

test('engineAddress: a socket path, unix:// and tcp:// DOCKER_HOST, or the default socket', () => {
  assert.equal(engineAddress('/tmp/d.sock', {}), { options: { socketPath: '/tmp/d.sock' }, label: '/tmp/d.sock' })
  assert.equal(engineAddress(undefined, { DOCKER_HOST: 'unix:///run/x.sock' }).options, { socketPath: '/run/x.sock' })
  assert.equal(engineAddress(undefined, { DOCKER_HOST: 'tcp://10.0.0.2:2375' }).options, { host: '10.0.0.2', port: 2375, protocol: 'http' })
  assert.equal(engineAddress(undefined, {}).options, { socketPath: '/var/run/docker.sock' })
})

test('dockerMessage: the engine\'s words without dockerode\'s prefix', () => {
  const err = Object.assign(new Error('(HTTP code 409) unexpected - Conflict. The name is in use '), { statusCode: 409 })
  assert.is(dockerMessage(err), 'Conflict. The name is in use')
  assert.is(dockerMessage(Object.assign(new Error('x'), { json: { message: 'no such image ' } })), 'no such image')
})

test('toRuntimeContainer: Docker states and health map onto the runtime\'s', () => {
  const info = (status: string, health?: string, exitCode = 0): ContainerInspectInfo => ({
    Id: 'c1',
    Config: { Image: 'img:1', Labels: { [LABELS.service]: 'acme/web', [LABELS.replica]: '2', [LABELS.hash]: 'h' } },
    State: { Status: status, ExitCode: exitCode, StartedAt: '2026-11-26T01:06:08.5Z', Error: '', ...(health === undefined ? {} : { Health: { Status: health } }) }
  }) as unknown as ContainerInspectInfo
  assert.equal(toRuntimeContainer(info('running', 'healthy')), { id: 'c1', service: 'acme/web', replica: 2, hash: 'h', image: 'img:1', state: 'running', health: 'healthy', startedAt: Date.parse('2026-11-26T01:06:08.500Z') })
  assert.is(toRuntimeContainer(info('running')).health, 'none')
  assert.is(toRuntimeContainer(info('running', 'starting')).health, 'starting')
  const dead = toRuntimeContainer(info('exited', 'healthy', 137))
  assert.equal([dead.state, dead.health, dead.exitCode], ['exited', 'unhealthy', 137])
  assert.is(toRuntimeContainer(info('created')).state, 'created')
})

test.run()

/** A command run in a running container (backup hooks), on a real engine (MINGA_TEST_DOCKER_HOST) */
import { existsSync } from 'node:fs'
import Docker from 'dockerode'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { execIn } from '../src/runtime/docker-exec.js'
import { TEST_IMAGE } from './runtime-fixtures.js'

const socket = (process.env.MINGA_TEST_DOCKER_HOST ?? '/var/run/docker.sock').replace(/^unix:\/\//, '')
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
const engine = existsSync(socket)
if (!engine && !ci) console.log(`skipped: no Docker engine at ${socket} (set MINGA_TEST_DOCKER_HOST)`)
const dockerTest = engine ? test : ci ? (name: string) => test(name, () => { throw new Error(`no Docker engine at ${socket}; CI must provide one`) }) : test.skip

async function withContainer (body: (docker: Docker, id: string) => Promise<void>): Promise<void> {
  const docker = new Docker({ socketPath: socket })
  const container = await docker.createContainer({ Image: TEST_IMAGE, Cmd: ['sleep', '600'], HostConfig: { NetworkMode: 'none' }, Labels: { 'io.minga.test': 'exec' } })
  try {
    await container.start()
    await body(docker, container.id)
  } finally {
    await container.remove({ force: true })
  }
}

dockerTest('exec: exit code and output, stdout and stderr together', async () => {
  await withContainer(async (docker, id) => {
    const result = await execIn(docker, id, ['sh', '-c', 'echo dumped; echo warning >&2; exit 3'], { timeoutMs: 30_000 })
    assert.is(result.exitCode, 3)
    assert.match(result.output, /dumped/)
    assert.match(result.output, /warning/)
    assert.equal(await execIn(docker, id, ['true'], { timeoutMs: 30_000 }), { exitCode: 0, output: '' })
  })
})

dockerTest('exec: a command that outlives its time is reported as timed out; output is kept to its end', async () => {
  await withContainer(async (docker, id) => {
    const slow = await execIn(docker, id, ['sleep', '30'], { timeoutMs: 300 })
    assert.is(slow.exitCode, -1)
    assert.match(slow.output, /timed out after 300 ms/)
    const long = await execIn(docker, id, ['sh', '-c', 'for i in $(seq 1 2000); do echo line-$i; done'], { timeoutMs: 30_000, maxOutput: 100 })
    assert.ok(long.output.length <= 100)
    assert.match(long.output, /line-2000$/)
  })
})

test.run()

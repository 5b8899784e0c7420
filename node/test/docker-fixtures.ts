/**
 * The real Docker engine of the node's tests: MINGA_TEST_DOCKER_HOST (a unix
 * socket) or /var/run/docker.sock, with the test images built on it. Without
 * one, each test registered through `it` is skipped (counted as such, never
 * as passed) and says why once; under CI it fails.
 */
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { DockerRuntime } from '../src/runtime/index.js'

export function dockerSocket (): string {
  return (process.env.MINGA_TEST_DOCKER_HOST ?? '/var/run/docker.sock').replace(/^unix:\/\//, '')
}

export async function dockerEngineTests (socket = dockerSocket()): Promise<{ engine: boolean, it: (name: string, fn: () => Promise<void>) => void }> {
  const engine = await engineAnswers(socket)
  const missing = `no Docker engine at ${socket} (start one with "scripts/docker-engine.sh start test" and set MINGA_TEST_DOCKER_HOST)`
  if (!engine && process.env.CI === undefined) console.log(`skipped: ${missing}`)
  const it: (name: string, fn: () => Promise<void>) => void = engine ? test : process.env.CI !== undefined ? (name) => test(name, () => assert.unreachable(`${missing}; CI always provides one`)) : test.skip
  if (engine) buildTestImages(socket)
  return { engine, it }
}

async function engineAnswers (socket: string): Promise<boolean> {
  const probe = new DockerRuntime({ meshId: 'probe', nodeId: 'probe', socketPath: socket, callTimeoutMs: 3000 })
  try {
    await probe.capacity()
    return true
  } catch {
    return false
  } finally {
    await probe.close()
  }
}

function buildTestImages (socket: string): void {
  for (let dir of [dirname(fileURLToPath(import.meta.url)), process.cwd()]) {
    for (; dir !== dirname(dir); dir = dirname(dir)) {
      const script = join(dir, 'scripts', 'test-image.sh')
      if (existsSync(script)) { execFileSync(script, [socket], { stdio: 'ignore' }); return }
    }
  }
  throw new Error('scripts/test-image.sh not found; run the tests from the minga repository')
}

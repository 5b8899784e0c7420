/**
 * The minga CLI run as a child process (`node packages/cli/bin/minga.js`),
 * for tests that drive real nodes the way an operator does. Every child is
 * killed when this process exits, however it exits, so a failed test never
 * leaves nodes behind.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
export const MINGA_BIN = fileURLToPath(new URL('../../../packages/cli/bin/minga.js', import.meta.url))

export interface CliResult {
  status: number | null
  stdout: string
  stderr: string
}

export const CLI_TIMEOUT = 45_000
/** node and CLI processes started by the tests, killed when this process exits */
export const liveChildren = new Set<ChildProcess>()
process.on('exit', () => { for (const child of liveChildren) child.kill('SIGKILL') })
// a runner stopped by Ctrl-C or a CI timeout exits without 'exit' handlers unless the signal is handled
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    for (const child of liveChildren) child.kill('SIGKILL')
    // exit as the default handler would, unless someone else handles the signal too
    if (process.listenerCount(signal) === 1) process.exit(signal === 'SIGINT' ? 130 : 143)
  })
}

/** run the minga CLI with these arguments; never throws on a non-zero exit */
export async function runMinga (args: string[], options: { env?: NodeJS.ProcessEnv, timeout?: number } = {}): Promise<CliResult> {
  return await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [MINGA_BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] })
    liveChildren.add(child)
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => { stdout += d })
    child.stderr.setEncoding('utf8').on('data', (d: string) => { stderr += d })
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeout ?? CLI_TIMEOUT)
    child.on('error', reject)
    child.on('close', (status) => {
      clearTimeout(timer)
      liveChildren.delete(child)
      resolve({ status, stdout, stderr })
    })
  })
}

const LIBFAKETIME = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1'

/**
 * The environment that runs a process with its wall clock shifted by
 * `offset` (libfaketime's syntax: '+5m', '-30s'), timers left alone; undefined
 * when libfaketime is not installed (apt-get install faketime)
 */
export function fakeClockEnv (offset: string): Record<string, string> | undefined {
  if (!existsSync(LIBFAKETIME)) return undefined
  return { LD_PRELOAD: LIBFAKETIME, FAKETIME: offset, FAKETIME_DONT_FAKE_MONOTONIC: '1', FAKETIME_NO_CACHE: '1' }
}

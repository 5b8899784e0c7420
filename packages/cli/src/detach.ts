/**
 * `minga up --detach`: the same `minga up` in the background, its output
 * appended to DATA/minga.log, and this command returns once the node is
 * ready (exit 0, printing its pid) or has failed to start (exit 1, with the
 * end of its log). So a script can start nodes and use them on the next line.
 */
import { spawn } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError, EXIT } from './errors.js'

/** a node that is neither ready nor gone after this long is reported and left running */
const READY_TIMEOUT_MS = 120_000
const POLL_MS = 100

/**
 * `minga up --detach`: the same command in the background; returns once it printed `ready`, CliError when it exits first or after 120 s
 */
export async function detachUp (dataDir: string): Promise<void> {
  await mkdir(dataDir, { recursive: true })
  const logPath = join(dataDir, 'minga.log')
  const log = openSync(logPath, 'a')
  const start = readFileSync(logPath).length
  const args = process.argv.slice(1).filter(a => a !== '--detach' && a !== '-d')
  const child = spawn(process.execPath, args, { detached: true, stdio: ['ignore', log, log], env: process.env })
  closeSync(log)
  let exited: number | string | undefined
  child.on('exit', (code, signal) => { exited = code ?? signal ?? 'unknown' })
  const since = Date.now()
  let shown = 0
  while (true) {
    const text = readFileSync(logPath).subarray(start).toString('utf8')
    const lines = text.split('\n')
    // show what the node says while it starts, as `minga up` would
    for (; shown < lines.length - 1; shown++) process.stderr.write(`${lines[shown]}\n`)
    if (lines.slice(0, -1).includes('ready')) break
    if (exited !== undefined) throw new CliError(`The node exited (${exited}) before it was ready; its log: ${logPath}`, EXIT.failure)
    if (Date.now() - since > READY_TIMEOUT_MS) throw new CliError(`The node (pid ${child.pid}) is not ready after ${READY_TIMEOUT_MS / 1000} s; see ${logPath}`, EXIT.failure)
    await new Promise(resolve => setTimeout(resolve, POLL_MS))
  }
  child.unref()
  process.stdout.write(`minga up: running in the background as pid ${child.pid}; log: ${logPath}; stop it with: kill ${child.pid}\n`)
}

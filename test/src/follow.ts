/**
 * A `minga … -f --json` command left running, its NDJSON output collected as
 * it arrives: what a test reads while it kills nodes under the follower.
 */
import { spawn } from 'node:child_process'
import { MINGA_BIN } from './minga-cli.js'

export interface Follower {
  /** every object printed so far, in order */
  readonly items: any[]
  /** ends the command as Ctrl-C would */
  stop: () => void
}

/** runs `minga --data DIR ...args` (args should include -f and --json) */
export function followMinga (dataDir: string, ...args: string[]): Follower {
  const items: any[] = []
  const child = spawn(process.execPath, [MINGA_BIN, '--data', dataDir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let pending = ''
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    pending += chunk
    const lines = pending.split('\n')
    pending = lines.pop() ?? ''
    for (const line of lines) if (line !== '') items.push(JSON.parse(line))
  })
  return { items, stop: () => { child.kill('SIGINT') } }
}

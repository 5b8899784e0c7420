/** Running a writer in a child process and killing it with SIGKILL mid-work, for the crash tests */
import { spawn } from 'node:child_process'

/**
 * Runs `node script ...args` and hands each whole line of its stdout, split
 * into words, to `onLine`; kills the child with SIGKILL as soon as `onLine`
 * returns true (often in the middle of its next write). Resolves when it exits.
 */
export async function runUntilKilled (script: string, args: string[], onLine: (words: string[]) => boolean): Promise<void> {
  const proc = spawn(process.execPath, [script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] })
  let buffer = ''
  await new Promise<void>((resolve) => {
    proc.stdout.on('data', (chunk: Buffer) => {
      buffer += chunk.toString()
      const lines = buffer.split('\n')
      buffer = lines.pop()!
      for (const line of lines) {
        if (onLine(line.split(' ')) && proc.exitCode === null) proc.kill('SIGKILL')
      }
    })
    proc.on('exit', () => resolve())
  })
}

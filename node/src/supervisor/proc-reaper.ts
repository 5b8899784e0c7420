/**
 * The supervisor's fallback when the engine does not answer: a container's
 * main process, seen in /proc and signalled directly. A pid is remembered
 * with its start time (field 22 of /proc/PID/stat), so a pid the kernel has
 * given to another process since is never signalled. Killing a container's
 * main process (PID 1 of its namespace) ends every process in it.
 *
 * Works when the supervisor shares the engine's PID namespace (minga and
 * Docker on one host) and may signal the containers' processes (as root, as
 * minga usually runs beside Docker; in the docker group only, the kill is
 * refused and the stop stays unconfirmed). With a remote engine `track`
 * returns false and only the engine can stop the containers
 * (docs/ARCHITECTURE.md says what that means for the bound).
 */
import { readFileSync } from 'node:fs'
import type { ProcessReaper } from '../core/supervision/types.js'

interface Stat { state: string, startTime: string }

export class ProcReaper implements ProcessReaper {
  private readonly tracked = new Map<string, { pid: number, startTime: string }>()

  constructor (private readonly proc = '/proc') {}

  track (id: string, pid: number): boolean {
    if (!Number.isSafeInteger(pid) || pid <= 1 || pid === process.pid) return false
    const stat = this.stat(pid)
    if (stat === undefined) return false
    this.tracked.set(id, { pid, startTime: stat.startTime })
    return true
  }

  alive (id: string): boolean | undefined {
    const tracked = this.tracked.get(id)
    if (tracked === undefined) return undefined
    const stat = this.stat(tracked.pid)
    // gone, a zombie waiting for its parent, or a new process under the old pid: not the container any more
    return stat !== undefined && stat.startTime === tracked.startTime && stat.state !== 'Z' && stat.state !== 'X'
  }

  signal (id: string, signal: 'SIGTERM' | 'SIGKILL'): void {
    if (this.alive(id) !== true) return
    try {
      process.kill(this.tracked.get(id)!.pid, signal)
    } catch (err) {
      // ESRCH: it ended meanwhile; EPERM (not root): it runs on and the stop stays unconfirmed, which the watchdog says
      const code = (err as NodeJS.ErrnoException).code
      if (code !== 'ESRCH' && code !== 'EPERM') throw err
    }
  }

  forget (id: string): void {
    this.tracked.delete(id)
  }

  private stat (pid: number): Stat | undefined {
    let text: string
    try {
      text = readFileSync(`${this.proc}/${pid}/stat`, 'utf8')
    } catch {
      // no such process (or not visible from here): nothing to track or signal
      return undefined
    }
    return parseStat(text)
  }
}

/** the state and start time of a /proc/PID/stat line; the command name (field 2) may hold spaces and parentheses */
export function parseStat (text: string): Stat | undefined {
  const fields = text.slice(text.lastIndexOf(')') + 2).trim().split(' ')
  // fields[0] is field 3 (state), so field 22 (starttime) is fields[19]
  if (fields.length < 20 || fields[0] === '' || !/^\d+$/.test(fields[19])) return undefined
  return { state: fields[0], startTime: fields[19] }
}

/**
 * Runs a fuzz target under fast-check: every input must be decoded or
 * refused with one of the target's own errors, each within `maxMsPerInput` of CPU time
 * (a hang or a pathological input shows as a failure with the input that
 * caused it, shrunk). Returns what happened, for the test and the bench.
 */
import fc from 'fast-check'
import type { FuzzTarget } from './fuzz-targets.js'
import { cpuMs } from './fixtures.js'

export interface FuzzReport { target: string, runs: number, accepted: number, refused: number, slowestMs: number, totalMs: number }

export async function fuzz<T> (target: FuzzTarget<T>, options: { numRuns: number, maxMsPerInput?: number, seed?: number }): Promise<FuzzReport> {
  const maxMs = options.maxMsPerInput ?? 1000
  const report: FuzzReport = { target: target.name, runs: 0, accepted: 0, refused: 0, slowestMs: 0, totalMs: 0 }
  const started = cpuMs()
  await fc.assert(fc.asyncProperty(target.inputs, async (input) => {
    const t0 = cpuMs()
    try {
      await target.run(input)
      report.accepted++
    } catch (err: any) {
      if (!target.refusals.includes(err?.name)) throw err
      if (typeof err.message !== 'string' || err.message.length === 0) throw new Error(`${err.name} without a message`)
      report.refused++
    } finally {
      report.runs++
    }
    const ms = cpuMs() - t0
    if (ms > report.slowestMs) report.slowestMs = ms
    if (ms > maxMs) throw new Error(`one input took ${Math.round(ms)} ms (bound ${maxMs} ms)`)
  }), { numRuns: options.numRuns, seed: options.seed })
  report.totalMs = cpuMs() - started
  return report
}

/** heap growth while `fn` runs on one huge input, in bytes (after a GC when exposed) */
export async function heapGrowth (fn: () => unknown): Promise<number> {
  const gc = (globalThis as any).gc as (() => void) | undefined
  gc?.()
  const before = process.memoryUsage().heapUsed
  let peak = before
  const timer = setInterval(() => { peak = Math.max(peak, process.memoryUsage().heapUsed) }, 1)
  try {
    await fn()
  } catch {}
  peak = Math.max(peak, process.memoryUsage().heapUsed)
  clearInterval(timer)
  return peak - before
}

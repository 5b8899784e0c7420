/** writing a run's results: summary.json, samples.json and the HTML report */
import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { renderReport, type RealFigures } from './report/html.js'
import type { SimResult } from './run.js'

/** writes `summary.json` and `report.html` of a run into `dir`; returns their paths */
export async function writeResults (result: SimResult, dir: string, real?: RealFigures): Promise<{ summary: string, report: string }> {
  await mkdir(dir, { recursive: true })
  const summary = join(dir, 'summary.json')
  const report = join(dir, 'report.html')
  await writeFile(summary, JSON.stringify(result.summary, null, 2) + '\n')
  await writeFile(join(dir, 'samples.json'), JSON.stringify({ samples: result.samples, changes: result.changes, windows: result.windows, ...(result.requests === undefined ? {} : { requests: result.requests }) }) + '\n')
  await writeFile(report, renderReport(result, real))
  return { summary, report }
}

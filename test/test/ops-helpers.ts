/**
 * Helpers of the ops tests. A strict reader of the Prometheus text exposition format (0.0.4), for
 * tests: every line is a HELP, a TYPE, a comment or a sample; names and
 * labels are well-formed; every sample belongs to a family with a TYPE;
 * values are numbers. Throws on the first line that is not.
 */

export interface Family { name: string, type: string, help: string, samples: Array<{ name: string, labels: Record<string, string>, value: number }> }

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? ([^ ]+)( -?\d+)?$/
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\["\\n])*)"(,|$)/
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped'])
const SUFFIXES = ['_bucket', '_sum', '_count', '_total', '_created', '']

export function parsePrometheus (text: string): Map<string, Family> {
  const families = new Map<string, Family>()
  const family = (name: string): Family => {
    let f = families.get(name)
    if (f === undefined) families.set(name, f = { name, type: '', help: '', samples: [] })
    return f
  }
  text.split('\n').forEach((line, index) => {
    const where = `line ${index + 1}: ${line}`
    if (line === '') return
    if (line.startsWith('# HELP ') || line.startsWith('# TYPE ')) {
      const [, keyword, name, ...rest] = line.split(' ')
      if (!NAME.test(name)) throw new Error(`bad metric name, ${where}`)
      if (keyword === 'TYPE') {
        if (!TYPES.has(rest[0]) || rest.length !== 1) throw new Error(`bad type, ${where}`)
        if (family(name).type !== '') throw new Error(`second TYPE, ${where}`)
        family(name).type = rest[0]
      } else {
        family(name).help = rest.join(' ')
      }
      return
    }
    if (line.startsWith('#')) return
    const match = SAMPLE.exec(line)
    if (match === null) throw new Error(`not a sample, ${where}`)
    const [, name, , labelText, valueText] = match
    const value = valueText === '+Inf' ? Infinity : valueText === '-Inf' ? -Infinity : valueText === 'NaN' ? NaN : Number(valueText)
    if (Number.isNaN(value) && valueText !== 'NaN') throw new Error(`bad value, ${where}`)
    const labels: Record<string, string> = {}
    let rest = labelText ?? ''
    while (rest !== '') {
      const label = LABEL.exec(rest)
      if (label === null) throw new Error(`bad labels, ${where}`)
      if (label[1] in labels) throw new Error(`label twice, ${where}`)
      labels[label[1]] = label[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1')
      rest = rest.slice(label[0].length)
    }
    const owner = SUFFIXES.map(s => s === '' ? name : name.endsWith(s) ? name.slice(0, -s.length) : undefined)
      .find(base => base !== undefined && families.get(base)?.type !== undefined && families.get(base)?.type !== '')
    if (owner === undefined) throw new Error(`sample of a family without TYPE, ${where}`)
    families.get(owner)!.samples.push({ name, labels, value })
  })
  return families
}

/** the dashboard and /metrics URL a running node printed ("http on URL …"), its last one */
export function httpOf (node: { name: string, log: string[] }): string {
  const line = [...node.log].reverse().find(l => l.startsWith('http on '))
  if (line === undefined) throw new Error(`${node.name} printed no "http on" line; was it started with --http?`)
  return line.split(' ')[2]
}

/** operating verbs: logs, events */
import type { EventItem, LogItem } from '@minga/node/api'
import { request } from 'node:http'
import { join } from 'node:path'
import type { Command } from 'commander'
import { context } from './context.js'
import { CliError, EXIT } from './errors.js'
import { shortId } from './format.js'

/** the operating verbs on `program`: logs, events */
export function opsCommands (program: Command): void {
  program.command('logs')
    .description('show the logs of every replica of a service, from whichever nodes run them, merged by time')
    .argument('<service>', 'NAME or ORG/NAME')
    .option('-f, --follow', 'keep following, also when replicas move to other nodes')
    .option('--since <when>', 'only lines since then: a duration (10m, 2h, 3d) or a time (2026-11-26T10:00:00Z)')
    .option('--tail <n>', 'only the last N lines of each replica')
    .option('--replica <n>', 'only these replicas (a number, or a comma-separated list)')
    .option('--split-streams', 'write the containers\' stderr lines to stderr (default: every line to stdout, so "minga logs web | grep x" sees them all)')
    .option('--json', 'one JSON object a line (type line, dropped or notice)')
    .addHelpText('after', '\nExamples:\n  minga logs web --since 10m\n  minga logs web -f --tail 20\n  minga logs acme/db --replica 0\n  minga logs web --split-streams 2>errors.log')
    .action(async (service, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const query = new URLSearchParams({ service })
      if (options.follow === true) query.set('follow', '1')
      if (options.since !== undefined) query.set('since', options.since)
      if (options.tail !== undefined) query.set('tail', checkCount(options.tail, '--tail'))
      if (options.replica !== undefined) query.set('replica', options.replica)
      await follow<LogItem>(join(ctx.dataDir, 'api.sock'), `/v1/logs?${query.toString()}`, (item, write) => {
        if (options.json === true) return write(process.stdout, JSON.stringify(item) + '\n')
        if (item.type === 'line') return write(item.stream === 'stderr' && options.splitStreams === true ? process.stderr : process.stdout, `${stamp(item.time)} ${shortId(item.node)} #${item.replica}  ${item.text}\n`)
        if (item.type === 'dropped') return write(process.stderr, `-- ${item.count} line(s) of #${item.replica} on ${shortId(item.node)} dropped: this reader was too slow --\n`)
        write(process.stderr, `minga: ${item.text}\n`)
      })
    })

  program.command('events')
    .description('what happened in the mesh: scheduling, failures, joins, drains, crashes, rejected entries; from every live node')
    .option('-f, --follow', 'keep showing new events as they happen')
    .option('--since <when>', 'a duration (10m, 2h, 3d) or a time', '1h')
    .option('--limit <n>', 'at most this many (without --follow)', '200')
    .option('--kind <kinds>', 'only these kinds, comma-separated (e.g. node-dead,replica-crash)')
    .option('--json', 'one JSON object a line')
    .addHelpText('after', '\nExamples:\n  minga events\n  minga events -f --kind node-dead,node-up,placement')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const query = new URLSearchParams({ since: options.since, limit: checkCount(options.limit, '--limit') })
      if (options.follow === true) query.set('follow', '1')
      const kinds = options.kind === undefined ? undefined : new Set(String(options.kind).split(',').map(k => k.trim()).filter(Boolean))
      await follow<EventItem>(join(ctx.dataDir, 'api.sock'), `/v1/mesh/events?${query.toString()}`, (item, write) => {
        if (item.type === 'event' && kinds !== undefined && !kinds.has(item.kind)) return
        if (options.json === true) return write(process.stdout, JSON.stringify(item) + '\n')
        if (item.type !== 'event') return write(process.stderr, `minga: ${item.text}\n`)
        const seen = (item.observers ?? 1) > 1 ? ` (seen by ${item.observers} nodes)` : ''
        write(process.stdout, `${stamp(item.time)} ${shortId(item.node)} ${item.kind.padEnd(17)} ${subject(item.subject).padEnd(16)} ${shortIds(item.reason)}${seen}\n`)
      })
    })
}

function stamp (time: number): string {
  return new Date(time).toISOString()
}

/** peer ids shortened as everywhere else; service#replica and keys as they are */
function subject (text: string): string {
  return /^12D3KooW\w{40,}$/.test(text) ? shortId(text) : text
}

/** peer ids inside free text, shortened */
function shortIds (text: string): string {
  return text.replace(/12D3KooW[1-9A-HJ-NP-Za-km-z]{44}/g, id => shortId(id))
}

function checkCount (value: string, option: string): string {
  if (!/^\d+$/.test(value)) throw new CliError(`${option} takes a whole number, not "${value}"`, EXIT.usage)
  return value
}

/**
 * GET an NDJSON stream from the control socket and hand each item to
 * `onItem` until the node ends it or Ctrl-C. When stdout is slow (a pager),
 * reading pauses, and the node stops pulling from the mesh.
 */
type Write = (stream: NodeJS.WriteStream, text: string) => void

async function follow<T> (socketPath: string, path: string, onItem: (item: T, write: Write) => void): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const req = request({ socketPath, path, method: 'GET' }, (res) => {
      res.setEncoding('utf8')
      if ((res.statusCode ?? 500) >= 400) {
        let body = ''
        res.on('data', (chunk: string) => { body += chunk })
        res.on('end', () => {
          let message = `The node answered ${res.statusCode}`
          try { message = JSON.parse(body).error ?? message } catch { /* not JSON: the status says it */ }
          reject(new CliError(message, res.statusCode === 400 ? EXIT.usage : EXIT.failure))
        })
        return
      }
      let pending = ''
      let full: NodeJS.WriteStream | undefined
      const write: Write = (stream, text) => { if (!stream.write(text)) full = stream }
      res.on('data', (chunk: string) => {
        pending += chunk
        let newline: number
        while ((newline = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, newline)
          pending = pending.slice(newline + 1)
          if (line.trim() !== '') onItem(JSON.parse(line), write)
        }
        if (full !== undefined) {
          res.pause()
          full.once('drain', () => res.resume())
          full = undefined
        }
      })
      res.on('end', () => resolve())
      res.on('error', (err) => reject(new CliError(`The node stopped the stream: ${err.message}`, EXIT.failure)))
    })
    req.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT' || err.code === 'ECONNREFUSED') reject(new CliError(`No minga node is running on ${socketPath}; start it with "minga up" (same --data)`, EXIT.notRunning))
      else reject(new CliError(`Cannot talk to the node at ${socketPath}: ${err.message}`, EXIT.failure))
    })
    const stop = (): void => { req.destroy(); resolve() }
    process.once('SIGINT', stop)
    process.once('SIGTERM', stop)
    req.end()
  })
}

/**
 * What the clients of the routing mesh saw (scenario/clients.ts): every
 * request as an event, and the figures the summary gives, computed from
 * those events alone — requests, failed requests, and the longest gap
 * between two answers of one client (what bench/ingress-failover.mjs
 * measures with real nodes).
 */
import type { Attempt } from '../cluster/ingress.js'
import { formatDuration } from '../scenario/duration.js'
import { round, stats, type Stats } from './stats.js'

/** one request of one client, on a new connection */
export interface RequestEvent {
  client: number
  /** virtual ms since the run's start: sent, and answered or given up */
  start: number
  end: number
  ok: boolean
  /** index of the node whose replica answered */
  node?: number
  /** the entry node's attempts to hand the connection to a replica, in order */
  attempts: Attempt[]
  /** why it got no answer */
  error?: string
}

export interface IngressFigures {
  /** `org/name` */
  service: string
  /** the node the clients connect to (index and peer id) */
  entry: { index: number, id: string } | null
  clients: number
  requests: number
  failedRequests: number
  /** the longest time between two answers of one client, ms; and when it began and ended, virtual s into the run */
  gapMs: number
  gapFrom: number | null
  gapTo: number | null
  /** time from sending to the answer, of the answered requests, ms */
  answerMs: Stats
  /** answered requests that needed more than one attempt */
  retried: number
  /** the entry node's attempts by how they ended (ok, refused, timeout, no-replica, …) */
  attempts: Record<string, number>
  /** answers by the node index whose replica gave them */
  answeredBy: Record<string, number>
  /** the first distinct reasons for failed requests */
  errors: string[]
}

const ERRORS_KEPT = 5

/** the figures of `events` (see IngressFigures) */
export function ingressFigures (events: readonly RequestEvent[], context: { service: string, clients: number, entry: { index: number, id: string } | null }): IngressFigures {
  let gap = { ms: 0, from: null as number | null, to: null as number | null }
  const lastAnswer = new Map<number, number>()
  const attempts: Record<string, number> = {}
  const answeredBy: Record<string, number> = {}
  const errors = new Set<string>()
  for (const event of [...events].sort((a, b) => a.end - b.end)) {
    for (const attempt of event.attempts) attempts[attempt.outcome] = (attempts[attempt.outcome] ?? 0) + 1
    if (!event.ok) {
      if (event.error !== undefined && errors.size < ERRORS_KEPT) errors.add(event.error)
      continue
    }
    if (event.node !== undefined) answeredBy[event.node] = (answeredBy[event.node] ?? 0) + 1
    const last = lastAnswer.get(event.client)
    if (last !== undefined && event.end - last > gap.ms) gap = { ms: event.end - last, from: last, to: event.end }
    lastAnswer.set(event.client, event.end)
  }
  const answered = events.filter(e => e.ok)
  return {
    ...context,
    requests: events.length,
    failedRequests: events.length - answered.length,
    gapMs: round(gap.ms, 1),
    gapFrom: gap.from === null ? null : round(gap.from / 1000, 3),
    gapTo: gap.to === null ? null : round(gap.to / 1000, 3),
    answerMs: stats(answered.map(e => e.end - e.start)),
    retried: answered.filter(e => e.attempts.length > 1).length,
    attempts,
    answeredBy,
    errors: [...errors]
  }
}

/** the clients' figures in one line (the report and `minga sim` show it) */
export function ingressLine (i: IngressFigures): string {
  const attempts = Object.entries(i.attempts).map(([outcome, n]) => `${outcome} ${n}`).join(', ')
  const gap = i.gapFrom === null ? '' : ` (${i.gapFrom} s to ${i.gapTo} s)`
  return `${i.requests} requests, ${i.failedRequests} failed, longest gap ${formatDuration(i.gapMs)}${gap}; answers p50 ${formatDuration(i.answerMs.p50)}, ${i.retried} after more than one attempt (attempts: ${attempts}); ${i.clients} client(s) on node ${i.entry?.index ?? '–'}`
}

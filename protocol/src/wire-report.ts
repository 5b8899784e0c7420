/**
 * A node's report of itself, asked for on demand (`report-request` →
 * `report`) by the views that show the whole mesh (`minga ps`, `ls`,
 * `nodes`, the dashboard): what it runs, how each copy is doing and what is
 * wrong, its capacity, allocation, software version and state digest.
 * Nothing pushes it: a node's placement inputs travel as membership and
 * replica records (wire-membership.ts); this is for people, read when they
 * look. It comes straight from its node over the authenticated connection.
 */
import { MAX_HEARTBEAT_BYTES, MAX_HEARTBEAT_PROBLEMS, MAX_HEARTBEAT_REPLICAS, problemReport, replicaReport, type ReplicaProblemReport, type ReplicaReport } from './wire-heartbeat.js'
import type { PeerIdString } from './identity.js'
import { capacity, list, object, peerId, token, whole, type Capacity } from './wire-check.js'

export interface ReportRequestMessage {
  type: 'report-request'
}

export interface ReportMessage {
  type: 'report'
  node: PeerIdString
  /** the node's clock, ms since the epoch */
  time: number
  /** the node's software version */
  version: string
  capacity: Capacity
  allocated: Capacity
  /** the node's state digest */
  digest: string
  replicas: ReplicaReport[]
  /** replicas it cannot run or that fail their health check, and why; absent when there are none */
  problems?: ReplicaProblemReport[]
}

export type ReportMessages = ReportRequestMessage | ReportMessage

export const REPORT_BYTES: Readonly<Record<ReportMessages['type'], number>> = {
  'report-request': 64,
  report: MAX_HEARTBEAT_BYTES
}

export const reportCheckers: Record<ReportMessages['type'], (value: unknown) => ReportMessages> = {
  'report-request': (value) => {
    object(value, 'report-request', new Set(['type']))
    return { type: 'report-request' }
  },
  report: (value) => {
    const r = object(value, 'report', new Set(['type', 'node', 'time', 'version', 'capacity', 'allocated', 'digest', 'replicas', 'problems']))
    const message: ReportMessage = {
      type: 'report',
      node: peerId(r.node, 'report.node'),
      time: whole(r.time, 'report.time'),
      version: token(r.version, 'report.version', 1, 64),
      capacity: capacity(r.capacity, 'report.capacity'),
      allocated: capacity(r.allocated, 'report.allocated'),
      digest: token(r.digest, 'report.digest', 0, 128),
      replicas: list(r.replicas, 'report.replicas', MAX_HEARTBEAT_REPLICAS).map((item, i) => replicaReport(item, `report.replicas[${i}]`))
    }
    if (r.problems !== undefined) message.problems = list(r.problems, 'report.problems', MAX_HEARTBEAT_PROBLEMS).map((item, i) => problemReport(item, `report.problems[${i}]`))
    return message
  }
}

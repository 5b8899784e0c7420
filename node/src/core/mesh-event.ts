/**
 * The vocabulary of events: what a node observed or did, with its time,
 * the node, a kind, a subject and a reason. The event log keeps them
 * (events/event-log.ts), every service emits them through its EventSink
 * (components.ts), `minga events` gathers them from every node. A new
 * subsystem adds its kinds to EventKind here.
 */

export type EventKind =
  | 'node-up' | 'node-suspect' | 'node-dead' | 'node-joined' | 'node-removed'
  | 'replica-start' | 'replica-stop' | 'replica-crash' | 'replica-healthy' | 'replica-unhealthy' | 'replica-error'
  | 'placement' | 'entry-rejected' | 'sync' | 'cordon' | 'uncordon' | 'deploy' | 'service-removed'
  | 'secret' | 'governance' | 'clock' | 'supervisor'
  | 'image' | 'build' | 'scan' | 'image-update'
  | 'secret' | 'governance' | 'clock' | 'supervisor' | 'ingress'
  | 'source-applied' | 'source-rejected' | 'source-error' | 'source-watch'
  | 'snapshot' | 'restore' | 'volume-aside' | 'backup-error'

export interface MeshEvent {
  time: number
  /** the node that observed or did it */
  node: string
  kind: EventKind
  /** what it is about: a peer id, a service id, `service#replica` */
  subject: string
  reason: string
  /** set by the EventLog: increases with every event this node keeps, from 1 at each start */
  seq?: number
}

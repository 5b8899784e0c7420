/**
 * The replica's side of a forward: may this member node hand us this
 * connection, and which local replica takes it? Pure.
 *
 * Only members reach the forward protocol at all (the connection gater).
 * Beyond that, a forward must be one the accepting node could have
 * received: through a port the service publishes in mode ingress, through
 * a host name it routes on the shared web ports, or — by name — from a
 * service whose organization may reach it (`mayReach`) and that the
 * sending node runs: a node speaks only for its own containers, so a
 * member cannot borrow another organization's access.
 */
import { isIngressPort, type ServiceSpec } from '@minga/protocol'
import { mayReach } from './names.js'
import type { IngressView } from './view.js'
import type { ForwardErrorCode, ForwardRequestMessage as ForwardRequest } from '@minga/protocol'

export interface ForwardContext {
  spec: (service: string) => ServiceSpec | undefined
  /** does `node` run (or is it assigned) a replica of `service`? */
  runsOn: (service: string, node: string) => boolean
  /** replicas of `service` that run healthy on this node */
  localHealthy: (service: string) => number[]
}

export type ForwardVerdict =
  | { ok: true, replica: number, proxyProtocol: boolean }
  | { ok: false, code: ForwardErrorCode, message: string }

export function authorizeForward (request: ForwardRequest, from: string, context: ForwardContext): ForwardVerdict {
  const target = context.spec(request.service)
  if (target === undefined) return refuse('no-replica', `There is no service ${request.service}`)
  const route = routeOf(request, from, target, context)
  if (!route.ok) return route
  const local = context.localHealthy(request.service)
  if (local.length === 0) return refuse('no-replica', `No healthy replica of ${request.service} runs on this node`)
  // the replica the sender chose, else the least-numbered one here: stable, so retries land alike
  const replica = local.includes(request.replica) ? request.replica : Math.min(...local)
  return { ok: true, replica, proxyProtocol: route.proxyProtocol }
}

export type AcceptedForward =
  | { ok: true, replica: number, proxyProtocol: boolean, /** the replica's address on the node's service network */ address: string }
  | { ok: false, code: ForwardErrorCode, message: string }

/**
 * The replica's node's answer to a forward, read from its view: the verdict
 * of `authorizeForward` and the chosen replica's address. The daemon's
 * forward protocol (node/src/ingress/ingress.ts) and the simulator's model
 * of it both answer with this
 */
export function acceptForward (view: Pick<IngressView, 'spec' | 'runsOn' | 'local'>, request: ForwardRequest, from: string): AcceptedForward {
  const verdict = authorizeForward(request, from, {
    spec: service => view.spec(service),
    runsOn: (service, node) => view.runsOn(service, node),
    localHealthy: service => view.local(service).map(r => r.replica)
  })
  if (!verdict.ok) return verdict
  const address = view.local(request.service).find(r => r.replica === verdict.replica)?.address
  if (address === undefined) return refuse('no-replica', `Replica ${request.service}#${verdict.replica} has no address on this node`)
  return { ...verdict, address }
}

/**
 * Does the container's `port` expect a PROXY protocol v2 header? A property
 * of the port, whichever way a connection reaches it: any published port or
 * web route that leads there and asks for the header
 */
export function expectsProxyHeader (spec: Pick<ServiceSpec, 'ports' | 'http'>, port: number): boolean {
  return spec.ports.some(p => p.container === port && p.proxyProtocol === 'v2') ||
    (spec.http ?? []).some(r => (r.port === port || r.tlsPort === port) && r.proxyProtocol === 'v2')
}

function routeOf (request: ForwardRequest, from: string, target: ServiceSpec, context: ForwardContext): { ok: true, proxyProtocol: boolean } | { ok: false, code: ForwardErrorCode, message: string } {
  const granted = { ok: true as const, proxyProtocol: expectsProxyHeader(target, request.port) }
  switch (request.via) {
    case 'port':
      if (!target.ports.some(p => isIngressPort(p) && p.container === request.port && p.protocol === 'tcp')) return refuse('forbidden', `${request.service} publishes no port that leads to its port ${request.port}`)
      return granted
    case 'web':
      if (!(target.http ?? []).some(r => r.host === request.host && (r.port === request.port || r.tlsPort === request.port))) return refuse('forbidden', `${request.service} does not answer ${String(request.host)} on its port ${request.port}`)
      return granted
    case 'name': {
      const caller = request.caller === undefined ? undefined : context.spec(request.caller)
      if (caller === undefined || request.caller === undefined) return refuse('forbidden', 'A forward by name needs the calling service')
      if (!context.runsOn(request.caller, from)) return refuse('forbidden', `The sending node does not run ${request.caller}`)
      if (!mayReach(caller.org, target)) return refuse('forbidden', `${request.service} is not exposed to organization ${caller.org}`)
      if (!target.ports.some(p => p.container === request.port && p.protocol === 'tcp')) return refuse('forbidden', `${request.service} lists no port ${request.port}`)
      return granted
    }
  }
}

function refuse (code: ForwardErrorCode, message: string): { ok: false, code: ForwardErrorCode, message: string } {
  return { ok: false, code, message }
}

/**
 * The node's service network on its Docker engine: a user-defined bridge
 * network of its own subnet (ingress/subnet.ts), created through the API,
 * so it works on an engine started with `--bridge none --iptables=false`
 * and needs no change to the host's firewall. Every replica joins it, with
 * the gateway (the node) as its DNS server: Docker's embedded resolver
 * answers container names itself and forwards the rest to the node.
 */
import type Docker from 'dockerode'
import { RuntimeStartError } from './errors.js'
import { LABELS } from './types.js'
import { dial, statusCode } from './docker-util.js'

export interface ServiceNetworkSpec {
  /** Docker's name for it, unique per engine */
  name: string
  /** the /23 */
  subnet: string
  /** the part Docker assigns containers from */
  containers: string
  /** the node's address on it */
  gateway: string
  /** the bridge interface's name on the host (at most 15 characters) */
  bridge: string
}

interface NetworkInfo {
  Name: string
  Driver: string
  IPAM?: { Config?: Array<{ Subnet?: string, Gateway?: string, IPRange?: string }> }
}

/** create the network if it is missing; a network of that name but another shape is an error that says what to do */
export async function ensureNetwork (docker: Docker, spec: ServiceNetworkSpec, owner: { meshId: string, nodeId: string }, signal: AbortSignal): Promise<void> {
  const existing = await inspectNetwork(docker, spec.name, signal)
  if (existing === undefined) {
    try {
      await dial(docker, {
        path: '/networks/create',
        method: 'POST',
        options: {
          Name: spec.name,
          Driver: 'bridge',
          CheckDuplicate: true,
          IPAM: { Driver: 'default', Config: [{ Subnet: spec.subnet, IPRange: spec.containers, Gateway: spec.gateway }] },
          Options: { 'com.docker.network.bridge.name': spec.bridge },
          Labels: { [LABELS.mesh]: owner.meshId, [LABELS.node]: owner.nodeId }
        },
        statusCodes: { 201: true, 400: 'bad parameter', 403: 'operation not supported', 404: 'plugin not found', 409: 'conflict', 500: 'server error' }
      }, signal)
      return
    } catch (err) {
      if (statusCode(err) !== 409) throw new RuntimeStartError(`Docker could not create the network ${spec.name} (${spec.subnet}): ${String((err as Error)?.message ?? err)}; pick another subnet with "minga up --subnet CIDR"`)
      // created by someone else at the same moment: check what it is
      return await ensureNetwork(docker, spec, owner, signal)
    }
  }
  const config = existing.IPAM?.Config?.[0]
  if (existing.Driver !== 'bridge' || config?.Subnet !== spec.subnet || config?.Gateway !== spec.gateway) {
    throw new RuntimeStartError(`The Docker network ${spec.name} exists with subnet ${String(config?.Subnet)} and gateway ${String(config?.Gateway)}, not ${spec.subnet} and ${spec.gateway}; remove it ("docker network rm ${spec.name}", after its containers) or give this node that subnet with "minga up --subnet ${String(config?.Subnet)}"`)
  }
}

export async function removeNetwork (docker: Docker, name: string, signal: AbortSignal): Promise<void> {
  try {
    await dial(docker, { path: `/networks/${encodeURIComponent(name)}`, method: 'DELETE', statusCodes: { 204: true, 403: 'operation not supported', 404: 'no such network', 500: 'server error' } }, signal)
  } catch (err) {
    if (statusCode(err) !== 404) throw err
  }
}

async function inspectNetwork (docker: Docker, name: string, signal: AbortSignal): Promise<NetworkInfo | undefined> {
  try {
    return await dial<NetworkInfo>(docker, { path: `/networks/${encodeURIComponent(name)}`, statusCodes: { 200: true, 404: 'no such network', 500: 'server error' } }, signal)
  } catch (err) {
    if (statusCode(err) === 404) return undefined
    throw err
  }
}

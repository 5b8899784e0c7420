/**
 * The version of a service's containers. A replica's container is made
 * from its service's spec; the spec also says how many replicas run, where,
 * and how an update rolls out. Only a change to what a container is made of
 * may replace running containers: scaling, moving a constraint, or changing
 * the update policy must leave every running replica alone.
 */
import { createHash } from 'node:crypto'
import { canonicalJson, type Json } from './canonical.js'
import type { ServiceSpec } from './spec.js'

/**
 * The spec fields that say how many replicas run, where, and how they are
 * rolled out; no container is made from them. Every other field (image,
 * entrypoint, command, user, env, resources and reservations, ports,
 * volumes, tmpfs, configs, secret files, health, and any field added later)
 * is part of the container hash, so a new container field needs no change
 * here: listing it here would be the bug. A volume's `backup` settings are
 * left out too (they drive snapshots, not the container).
 */
export const PLACEMENT_FIELDS = ['replicas', 'spread', 'allowOrgs', 'constraints', 'excludedLabels', 'update', 'singleton', 'standby'] as const satisfies ReadonlyArray<keyof ServiceSpec>

/**
 * The spec fields that say how the service is reached from elsewhere (host
 * names on the shared web ports, who may reach it by name): the nodes'
 * forwarders read them, no container is made from them
 */
export const ROUTING_FIELDS = ['http', 'expose'] as const satisfies ReadonlyArray<keyof ServiceSpec>

const PLACEMENT = new Set<string>([...PLACEMENT_FIELDS, ...ROUTING_FIELDS])

/**
 * sha256 (hex, first 16 characters) of the canonical JSON of everything in
 * a normalized spec except `PLACEMENT_FIELDS` and `ROUTING_FIELDS`: what a container is made of
 * and nothing about how many or where. Containers carry it as their label
 * and heartbeats report it; a replica whose hash differs from its service's
 * is outdated and is replaced by a rolling update. Equal specs give equal
 * hashes whatever their key order.
 */
export function containerHash (spec: ServiceSpec): string {
  const made: Record<string, unknown> = {}
  for (const [field, value] of Object.entries(spec)) if (!PLACEMENT.has(field)) made[field] = value
  // how a volume is backed up is not what its containers are made of: a new interval or hook restarts nothing
  if (Array.isArray(spec.volumes)) made.volumes = spec.volumes.map(({ backup: _backup, ...mount }) => mount)
  return createHash('sha256').update(canonicalJson(made as Json)).digest('hex').slice(0, 16)
}

/**
 * Backups of a Compose service's named volumes, from the labels Co-op
 * Cloud's backup-bot-two reads (in `deploy.labels`, as Swarm stacks carry
 * them, or in `labels`):
 *
 * - `backupbot.backup: "false"` → its volumes are not backed up (minga backs
 *   up every named volume unless told not to)
 * - `backupbot.backup.pre-hook` / `post-hook` → commands run in the
 *   container before / after each snapshot of its volumes (a database dump)
 * - `backupbot.backup.volumes.NAME: "false"` → that volume is not backed up
 * - `io.minga.backup.interval: 1m` → how often (default 5m; 30s to 24h)
 *
 * And a service that keeps a named volume and runs one replica becomes a
 * singleton: one copy, one lineage of its data (a database must never run
 * twice on two copies of its files). With more replicas each keeps a copy
 * of its own, restored from the latest snapshot when a node has none.
 */
import type { Translation } from './context.js'

const PREFIX = 'backupbot.backup'
const INTERVAL = 'io.minga.backup.interval'

interface MountedVolume { name?: string, path: string, readOnly: boolean, backup?: unknown }

/** applies the service's backup labels to its volumes; true when it should run as a singleton */
export function translateBackup (service: Record<string, unknown>, volumes: MountedVolume[], replicas: number | undefined, t: Translation): boolean {
  const deploy = service.deploy !== null && typeof service.deploy === 'object' ? service.deploy as Record<string, unknown> : {}
  const sources: Array<[unknown, string]> = [[deploy.labels, 'deploy.labels'], [service.labels, 'labels']]
  const labels = new Map<string, { value: string, at: string }>()
  for (const [raw, at] of sources) {
    for (const [key, value] of Object.entries(labelMap(raw))) if (key.startsWith(PREFIX) || key === INTERVAL) labels.set(key, { value, at: `${at}.${key}` })
  }
  const named = volumes.filter(v => v.name !== undefined)
  const off = labels.get(PREFIX)?.value === 'false'
  const pre = labels.get(`${PREFIX}.pre-hook`)
  const post = labels.get(`${PREFIX}.post-hook`)
  const interval = labels.get(INTERVAL)
  for (const [key, { at }] of labels) {
    const known = key === PREFIX || key === `${PREFIX}.pre-hook` || key === `${PREFIX}.post-hook` || key === INTERVAL || /^backupbot\.backup\.volumes\.[^.]+$/.test(key)
    if (!known) t.warn(at, key.endsWith('.path') ? 'ignored: minga snapshots whole volumes' : 'ignored: not a backup label minga reads')
  }
  for (const [index, volume] of volumes.entries()) {
    if (volume.name === undefined) continue
    const excluded = labels.get(`${PREFIX}.volumes.${volume.name!}`)?.value === 'false'
    if (off || excluded) {
      volume.backup = false
      continue
    }
    if (pre === undefined && post === undefined && interval === undefined) continue
    for (const [field, label] of [['interval', interval], ['pre', pre], ['post', post]] as const) if (label !== undefined) t.map(`volumes[${index}].backup.${field}`, label.at)
    volume.backup = {
      ...(interval === undefined ? {} : { interval: interval.value }),
      ...(pre === undefined ? {} : { pre: pre.value }),
      ...(post === undefined ? {} : { post: post.value })
    }
  }
  const backedUp = named.some(v => v.backup !== false)
  if (backedUp && (replicas ?? 1) <= 1) {
    t.warn('volumes', 'runs as a singleton: it keeps data in a named volume, and one copy keeps one lineage of it, backed up and restored wherever it runs (set deploy.replicas to 2 or more to run copies, each with a volume of its own)')
    return true
  }
  return false
}

/** true when Compose labels (a mapping or a list) carry a backup label minga reads */
export function hasBackupLabels (labels: unknown): boolean {
  return Object.keys(labelMap(labels)).some(k => k.startsWith(PREFIX) || k === INTERVAL)
}

/** Compose labels: a mapping, or a list of KEY=VALUE */
function labelMap (raw: unknown): Record<string, string> {
  if (Array.isArray(raw)) {
    const out: Record<string, string> = {}
    for (const item of raw) {
      if (typeof item !== 'string') continue
      const eq = item.indexOf('=')
      out[eq < 0 ? item : item.slice(0, eq)] = eq < 0 ? '' : item.slice(eq + 1)
    }
    return out
  }
  if (raw === null || typeof raw !== 'object') return {}
  return Object.fromEntries(Object.entries(raw as Record<string, unknown>).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]))
}

/**
 * Docker's named volumes as the core's VolumeHost. Backups read and restore
 * a volume through its folder on the engine's host (`Mountpoint`), so minga
 * must run on that host with access to it (as root, as Docker's own data
 * is); a remote engine is refused with that said. A kept-aside copy is a new
 * volume whose labels say what it was; its files are moved, not copied.
 */
import { access, constants } from 'node:fs/promises'
import Docker from 'dockerode'
import type { AsideInfo, LocalVolume, VolumeHost, VolumeLabels } from '../core/volumes/host.js'
import { engineAddress } from '../runtime/docker-util.js'
import { LABELS } from '../runtime/types.js'
import type { AbortOptions } from '../runtime/types.js'
import { BackupError } from './errors.js'
import { moveEntries } from './move.js'

export const VOLUME_LABELS = {
  volume: 'io.minga.volume',
  asideOf: 'io.minga.aside-of',
  asideAt: 'io.minga.aside-at',
  asideReason: 'io.minga.aside-reason'
} as const

export interface DockerVolumesInit {
  meshId: string
  nodeId: string
  socketPath?: string
}

export class DockerVolumes implements VolumeHost {
  private readonly docker: Docker
  private readonly address: string

  constructor (private readonly init: DockerVolumesInit) {
    const address = engineAddress(init.socketPath)
    this.docker = new Docker(address.options)
    this.address = address.label
  }

  async list (options: AbortOptions = {}): Promise<LocalVolume[]> {
    const answer = await this.docker.listVolumes({ filters: { label: [`${LABELS.mesh}=${this.init.meshId}`] }, abortSignal: options.signal } as any) as unknown as { Volumes: Docker.VolumeInspectInfo[] | null }
    return (answer.Volumes ?? []).map((v): LocalVolume => {
      const labels = v.Labels ?? {}
      const aside = labels[VOLUME_LABELS.asideOf] === undefined
        ? undefined
        : { of: labels[VOLUME_LABELS.asideOf], at: Number(labels[VOLUME_LABELS.asideAt] ?? 0), reason: labels[VOLUME_LABELS.asideReason] ?? '' }
      return {
        name: v.Name,
        ...(labels[LABELS.service] === undefined ? {} : { service: labels[LABELS.service] }),
        ...(labels[VOLUME_LABELS.volume] === undefined ? {} : { volume: labels[VOLUME_LABELS.volume] }),
        ...(aside === undefined ? {} : { aside })
      }
    }).sort((a: LocalVolume, b: LocalVolume) => a.name < b.name ? -1 : 1)
  }

  async path (name: string, options: AbortOptions = {}): Promise<string | undefined> {
    let info: Docker.VolumeInspectInfo
    try {
      info = await this.docker.getVolume(name).inspect({ abortSignal: options.signal } as any) as unknown as Docker.VolumeInspectInfo
    } catch (err: any) {
      if (err?.statusCode === 404) return undefined
      throw new BackupError(`Docker engine at ${this.address} could not inspect volume ${name}: ${String(err?.message ?? err).slice(0, 200)}`)
    }
    return await this.reachable(name, info.Mountpoint)
  }

  async create (name: string, labels: VolumeLabels, options: AbortOptions = {}): Promise<string> {
    const existing = await this.path(name, options)
    if (existing !== undefined) return existing
    await this.docker.createVolume({ Name: name, Labels: this.labelsOf(labels), abortSignal: options.signal } as any)
    return await this.mustExist(name, options)
  }

  async keepAside (name: string, aside: string, labels: VolumeLabels & { info: AsideInfo }, options: AbortOptions = {}): Promise<void> {
    const from = await this.path(name, options)
    if (from === undefined) return
    await this.docker.createVolume({
      Name: aside,
      Labels: {
        ...this.labelsOf(labels),
        [VOLUME_LABELS.asideOf]: labels.info.of,
        [VOLUME_LABELS.asideAt]: String(labels.info.at),
        [VOLUME_LABELS.asideReason]: labels.info.reason.slice(0, 500)
      },
      abortSignal: options.signal
    } as any)
    await moveEntries(from, await this.mustExist(aside, options))
  }

  async remove (name: string, options: AbortOptions = {}): Promise<void> {
    try {
      await this.docker.getVolume(name).remove({ abortSignal: options.signal } as any)
    } catch (err: any) {
      if (err?.statusCode === 404) return
      if (err?.statusCode === 409) throw new BackupError(`Volume ${name} is in use by a container; stop the service's replicas first`)
      throw new BackupError(`Docker engine at ${this.address} could not remove volume ${name}: ${String(err?.message ?? err).slice(0, 200)}`)
    }
  }

  private async mustExist (name: string, options: AbortOptions): Promise<string> {
    const path = await this.path(name, options)
    if (path === undefined) throw new BackupError(`Docker engine at ${this.address} created volume ${name} but does not find it`)
    return path
  }

  private labelsOf (labels: VolumeLabels): Record<string, string> {
    return { [LABELS.mesh]: this.init.meshId, [LABELS.node]: this.init.nodeId, [LABELS.service]: labels.service, [VOLUME_LABELS.volume]: labels.volume }
  }

  private async reachable (name: string, mountpoint: string): Promise<string> {
    try {
      await access(mountpoint, constants.R_OK | constants.W_OK)
      return mountpoint
    } catch {
      throw new BackupError(`The folder of volume ${name} (${mountpoint}) is not reachable from this process; backups need minga on the Docker engine's host with access to its volumes (run it as root, as dockerd runs)`)
    }
  }
}

/**
 * The volumes of this node, as the core sees them: named folders on the
 * host that containers mount. Docker's named volumes in production
 * (backup/docker-volumes.ts); plain folders in tests and with the memory
 * runtime (backup/folder-volumes.ts). A kept-aside copy is a volume of its
 * own, labelled with what it was and why it was set aside.
 */
import type { AbortOptions } from '../../runtime/types.js'

export interface VolumeLabels {
  /** `org/service` */
  service: string
  /** the volume's name within the service */
  volume: string
}

export interface AsideInfo {
  /** the volume it was the copy of */
  of: string
  /** ms since epoch */
  at: number
  reason: string
}

export interface LocalVolume {
  /** the engine's name for it, e.g. `minga-acme-db-pgdata` */
  name: string
  service?: string
  volume?: string
  aside?: AsideInfo
}

export interface VolumeHost {
  /** minga's volumes on this host, kept-aside copies included */
  list: (options?: AbortOptions) => Promise<LocalVolume[]>
  /** the host folder holding the volume's files, or undefined when it does not exist */
  path: (name: string, options?: AbortOptions) => Promise<string | undefined>
  /** creates the volume when missing; resolves with its folder */
  create: (name: string, labels: VolumeLabels, options?: AbortOptions) => Promise<string>
  /**
   * moves every file of `name` into a new volume `aside` (labelled with
   * `info`), leaving `name` existing and empty; nothing is copied, only renamed
   */
  keepAside: (name: string, aside: string, labels: VolumeLabels & { info: AsideInfo }, options?: AbortOptions) => Promise<void>
  /** removes the volume (its files with it); a missing volume is not an error */
  remove: (name: string, options?: AbortOptions) => Promise<void>
}

/** `<name>.aside-<UTC time>`: a kept-aside copy's name, sortable by time */
export function asideName (name: string, at: number): string {
  return `${name}.aside-${new Date(at).toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z')}`
}

/**
 * Service addresses: one IPv4 address per service that a container of this
 * node has looked up by name, in the upper half of the node's service
 * subnet, added to the bridge (`ip addr add ADDR/32 dev BRIDGE`) so that
 * containers reach it and the node's forwarder can listen on it. Kept in a
 * small file in the data dir, so a service keeps its address across
 * restarts of the node (an app that resolved `db` once and holds the
 * address keeps reaching it). Needs CAP_NET_ADMIN (root) for `ip`.
 */
import { execFile } from 'node:child_process'
import { readFile, rename, writeFile } from 'node:fs/promises'
import { promisify } from 'node:util'
import { errorText } from '../core/logger.js'
import { MAX_SERVICE_ADDRESSES, serviceAddress, type ServiceSubnet } from './subnet.js'

const exec = promisify(execFile)

export interface ServiceAddressesInit {
  subnet: ServiceSubnet
  /** the bridge interface the addresses go on */
  bridge: string
  /** where the allocations are kept (JSON); absent: in memory only */
  file?: string
  /** adds an address to the bridge; default `ip addr add ADDR/32 dev BRIDGE` (tests pass their own) */
  addAddress?: (address: string, bridge: string) => Promise<void>
}

export class ServiceAddresses {
  private readonly init: ServiceAddressesInit
  /** service id → index */
  private readonly byService = new Map<string, number>()
  private readonly added = new Set<string>()
  private saving: Promise<void> = Promise.resolve()

  constructor (init: ServiceAddressesInit) {
    this.init = init
  }

  /** read the allocations kept by an earlier run and put their addresses back on the bridge */
  async load (): Promise<void> {
    if (this.init.file === undefined) return
    let saved: unknown
    try {
      saved = JSON.parse(await readFile(this.init.file, 'utf8'))
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      throw new Error(`The service address file ${this.init.file} is unreadable (${errorText(err)}); delete it and the node hands out new addresses`)
    }
    for (const [service, index] of Object.entries((saved as Record<string, unknown>) ?? {})) {
      if (Number.isSafeInteger(index) && (index as number) >= 0 && (index as number) < MAX_SERVICE_ADDRESSES) this.byService.set(service, index as number)
    }
    for (const service of this.byService.keys()) await this.ensureOnBridge(this.addressOf(service)!)
  }

  /** the address of `service`, allocating one (and putting it on the bridge) when it has none; undefined when all are taken */
  async allocate (service: string): Promise<string | undefined> {
    let index = this.byService.get(service)
    if (index === undefined) {
      const used = new Set(this.byService.values())
      for (let i = 0; i < MAX_SERVICE_ADDRESSES && index === undefined; i++) if (!used.has(i)) index = i
      if (index === undefined) return undefined
      this.byService.set(service, index)
      this.save()
    }
    const address = serviceAddress(this.init.subnet, index)
    await this.ensureOnBridge(address)
    return address
  }

  addressOf (service: string): string | undefined {
    const index = this.byService.get(service)
    return index === undefined ? undefined : serviceAddress(this.init.subnet, index)
  }

  /** the service an address belongs to */
  serviceAt (address: string): string | undefined {
    for (const service of this.byService.keys()) if (this.addressOf(service) === address) return service
    return undefined
  }

  /** services that have an address */
  services (): string[] {
    return [...this.byService.keys()]
  }

  /** forget services that no longer exist; their addresses may go to others */
  retain (exists: (service: string) => boolean): void {
    let changed = false
    for (const service of [...this.byService.keys()]) {
      if (!exists(service)) { this.byService.delete(service); changed = true }
    }
    if (changed) this.save()
  }

  /** until the last change is on disk */
  async flushed (): Promise<void> {
    await this.saving
  }

  private async ensureOnBridge (address: string): Promise<void> {
    if (this.added.has(address)) return
    await (this.init.addAddress ?? addToBridge)(address, this.init.bridge)
    this.added.add(address)
  }

  private save (): void {
    const file = this.init.file
    if (file === undefined) return
    const content = JSON.stringify(Object.fromEntries(this.byService))
    this.saving = this.saving.then(async () => {
      await writeFile(`${file}.tmp`, content)
      await rename(`${file}.tmp`, file)
    }).catch(() => {})
  }
}

/** `ip addr add ADDR/32 dev BRIDGE`; an address already there is fine */
async function addToBridge (address: string, bridge: string): Promise<void> {
  try {
    await exec('ip', ['addr', 'add', `${address}/32`, 'dev', bridge])
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? '')
    if (/File exists|already assigned/.test(stderr)) return
    throw new Error(`Cannot add the service address ${address} to ${bridge}: ${(stderr === '' ? errorText(err) : stderr).trim()}; service names need the node to run as root (or with CAP_NET_ADMIN)`)
  }
}

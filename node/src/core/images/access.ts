/**
 * Who may read a root (an image, a scanner database, a git bundle, a build
 * log) from this node: the signed records that name it decide. An image is
 * for every member unless each record that names it marks it private, then
 * for the nodes of those records' organizations; a scanner database is for
 * every member; a build's bundle and log are for the organization that
 * asked and the one that built. A root that no record names is nobody's:
 * this node holds it, but does not serve it.
 */
import { recordValue, type State } from '@minga/protocol'

/** what names a root, in the state: the kinds and their organizations */
export interface RootUse {
  /** every member may read it */
  open: boolean
  /** organizations whose nodes may read it when it is not open */
  orgs: Set<string>
  /** image ids whose index this root is */
  images: Set<string>
}

/** answers `mayRead` from the state, with the root → use map rebuilt only when an entry of these kinds changes */
export class RootAccess {
  private uses?: Map<string, RootUse>
  private readonly unsubscribe: () => void

  constructor (private readonly state: State) {
    this.unsubscribe = state.subscribe((applied) => {
      if (applied.some(e => /^(image|scanner-db|build|build-result)\//.test(e.key))) this.uses = undefined
    })
  }

  close (): void {
    this.unsubscribe()
  }

  /** may `peer` (a member, not removed) read `root`? */
  mayRead (root: string, peer: string): boolean {
    const org = this.state.memberOrg(peer)
    if (org === undefined || this.state.revoked(peer) !== undefined) return false
    const use = this.use(root)
    return use !== undefined && (use.open || use.orgs.has(org))
  }

  /** what the state says of `root`, or undefined when no record names it */
  use (root: string): RootUse | undefined {
    this.uses ??= this.build()
    return this.uses.get(root)
  }

  private build (): Map<string, RootUse> {
    const uses = new Map<string, RootUse>()
    const at = (root: string): RootUse => {
      let use = uses.get(root)
      if (use === undefined) uses.set(root, use = { open: false, orgs: new Set(), images: new Set() })
      return use
    }
    for (const entry of this.state.records('image')) {
      const [, org, hex] = entry.key.split('/')
      const use = at(entry.value.index)
      use.images.add(`sha256:${hex}`)
      if (entry.value.private === true) use.orgs.add(org)
      else use.open = true
    }
    for (const entry of this.state.records('scanner-db')) at(entry.value.index).open = true
    for (const entry of this.state.records('build')) {
      const source = entry.value.source
      if (!('bundle' in source)) continue
      const use = at(source.bundle)
      use.orgs.add(entry.key.split('/')[1])
      use.orgs.add(entry.value.builderOrg)
    }
    for (const entry of this.state.records('build-result')) {
      const value = recordValue(entry, 'build-result')!
      for (const root of [value.log, value.index]) {
        if (root === undefined) continue
        const use = at(root)
        use.orgs.add(entry.key.split('/')[1])
        use.orgs.add(value.org)
      }
    }
    return uses
  }
}

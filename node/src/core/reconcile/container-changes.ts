/**
 * Tells listeners when a node's containers may say something new to the
 * routing mesh: a container appeared or went, changed state or health, or
 * got its address. The reconcile loop notices after each look at them.
 */
import type { RuntimeContainer } from '../../runtime/types.js'

export class ContainerChanges {
  private readonly listeners = new Set<() => void>()
  private key = ''

  /** `listener` runs after a change; returns its remover */
  on (listener: () => void): () => void {
    this.listeners.add(listener)
    return () => { this.listeners.delete(listener) }
  }

  /** compare `containers` with the last look; tell the listeners when they differ */
  notice (containers: readonly RuntimeContainer[]): void {
    const key = containers.map(c => `${c.id}:${c.state}:${c.health}:${c.address ?? ''}`).join(',')
    if (key === this.key) return
    this.key = key
    for (const listener of this.listeners) listener()
  }
}

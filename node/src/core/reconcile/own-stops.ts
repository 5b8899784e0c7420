/**
 * The containers this node stopped itself (a stop, a restart): their exit is
 * a stop, not a crash. The engine reports an exit after the stop returns at
 * the latest, so the last thousand ids outlast any such delay.
 */

/** own stops remembered, at most */
const MAX_OWN_STOPS = 1000

/** container ids this node stopped, newest last, the oldest forgotten beyond MAX_OWN_STOPS */
export class OwnStops {
  private readonly ids = new Set<string>()

  has (containerId: string): boolean {
    return this.ids.has(containerId)
  }

  add (containerId: string): void {
    this.ids.add(containerId)
    if (this.ids.size > MAX_OWN_STOPS) this.ids.delete(this.ids.values().next().value as string)
  }
}

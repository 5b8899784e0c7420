/**
 * Hybrid logical clock (Kulkarni et al.): wall milliseconds plus a counter,
 * so that causally later writes always carry a larger stamp even when clocks
 * disagree a little. Stamps are encoded as fixed-width strings that sort in
 * clock order, which keeps comparison and canonical encoding trivial.
 */

export interface Hlc {
  wall: number
  counter: number
}

const WALL_DIGITS = 15
const COUNTER_DIGITS = 6
const MAX_COUNTER = 999_999
const HLC_PATTERN = /^\d{15}\.\d{6}$/

/** a stamp as its fixed-width text, `WWWWWWWWWWWWWWW.CCCCCC` (wall ms, counter), which sorts in time order */
export function encodeHlc (hlc: Hlc): string {
  return `${String(hlc.wall).padStart(WALL_DIGITS, '0')}.${String(hlc.counter).padStart(COUNTER_DIGITS, '0')}`
}

/** the wall ms and counter of a stamp's text (not checked: see isHlc) */
export function decodeHlc (text: string): Hlc {
  if (!isHlc(text)) throw new TypeError(`Not a clock stamp: ${JSON.stringify(text).slice(0, 40)}`)
  return { wall: Number(text.slice(0, WALL_DIGITS)), counter: Number(text.slice(WALL_DIGITS + 1)) }
}

/** true for a well-formed stamp text (15 digits, a dot, 6 digits) */
export function isHlc (text: unknown): text is string {
  return typeof text === 'string' && HLC_PATTERN.test(text)
}

/** wall milliseconds of an encoded stamp, without allocating */
export function hlcWall (text: string): number {
  return Number(text.slice(0, WALL_DIGITS))
}

/** A clock that issues stamps from `now()` and folds in stamps it receives */
export class HybridClock {
  private last: Hlc = { wall: 0, counter: 0 }
  private readonly now: () => number

  constructor (now: () => number) {
    this.now = now
  }

  /** a stamp for a local event, strictly greater than every stamp seen */
  tick (): string {
    const wall = Math.max(this.now(), this.last.wall)
    if (wall === this.last.wall) {
      this.last = bump(this.last)
    } else {
      this.last = { wall, counter: 0 }
    }
    return encodeHlc(this.last)
  }

  /** fold in a stamp received from elsewhere (already checked against the drift bound) */
  observe (stamp: string): void {
    const seen = decodeHlc(stamp)
    if (seen.wall > this.last.wall || (seen.wall === this.last.wall && seen.counter > this.last.counter)) {
      this.last = seen
    }
  }

  peek (): string {
    return encodeHlc(this.last)
  }
}

function bump (hlc: Hlc): Hlc {
  // the counter only overflows under a million writes in one millisecond; borrow the next one
  return hlc.counter >= MAX_COUNTER ? { wall: hlc.wall + 1, counter: 0 } : { wall: hlc.wall, counter: hlc.counter + 1 }
}

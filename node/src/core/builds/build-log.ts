/**
 * A build's log (the build's output, then the test's), kept in bounded
 * memory: the first `head` bytes and the last `tail` bytes, with a line
 * saying how much was left out between them, so both the first error and
 * the test's verdict survive a chatty build. Text in, UTF-8 out.
 */

/** bytes of a log kept at most: the start and the end (BUILD_LOG_HEAD + BUILD_LOG_TAIL) */
export const BUILD_LOG_HEAD = 256 * 1024
export const BUILD_LOG_TAIL = 768 * 1024

/** a bounded log (see above) */
export class BuildLog {
  private head = ''
  private tailParts: string[] = []
  private tailBytes = 0
  private dropped = 0
  private total = 0

  constructor (private readonly limits: { head: number, tail: number } = { head: BUILD_LOG_HEAD, tail: BUILD_LOG_TAIL }) {}

  /** appends text; costs at most the limits in memory, whatever is written */
  write (text: string): void {
    if (text === '') return
    this.total += Buffer.byteLength(text)
    if (this.head.length < this.limits.head && this.tailParts.length === 0) {
      const room = this.limits.head - this.head.length
      this.head += text.slice(0, room)
      text = text.slice(room)
      if (text === '') return
    }
    if (text.length > this.limits.tail) {
      this.dropped += this.tailBytes + text.length - this.limits.tail
      this.tailParts = [text.slice(-this.limits.tail)]
      this.tailBytes = this.limits.tail
      return
    }
    this.tailParts.push(text)
    this.tailBytes += text.length
    while (this.tailBytes > this.limits.tail) {
      const first = this.tailParts[0]
      const over = this.tailBytes - this.limits.tail
      if (first.length <= over) {
        this.tailParts.shift()
        this.tailBytes -= first.length
        this.dropped += first.length
      } else {
        this.tailParts[0] = first.slice(over)
        this.tailBytes -= over
        this.dropped += over
      }
    }
  }

  /** a line of its own, with a newline */
  line (text: string): void {
    this.write(text.endsWith('\n') ? text : `${text}\n`)
  }

  /** characters written in all */
  get written (): number {
    return this.total
  }

  /** the log as kept: its start, a note of what was left out, its end */
  text (): string {
    const tail = this.tailParts.join('')
    return this.dropped === 0 ? this.head + tail : `${this.head}\n[… ${this.dropped} characters of the log left out …]\n${tail}`
  }

  /** its last `max` bytes at most (the build-result's tail), cut at a line start when one is near */
  last (max: number): string {
    let text = this.text()
    while (Buffer.byteLength(text) > max) text = text.slice(Math.max(1, text.length - max))
    const newline = text.indexOf('\n')
    return newline >= 0 && newline < 200 && newline < text.length - 1 ? text.slice(newline + 1) : text
  }
}

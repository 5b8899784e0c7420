/** Newline-delimited text arriving in chunks: whole lines out, at most `maxLine` characters kept waiting */
export class LineBuffer {
  private pending = ''

  constructor (private readonly maxLine: number) {}

  /** the complete lines of `chunk` (with what came before); throws when a line grows past `maxLine` */
  push (chunk: string): string[] {
    this.pending += chunk
    const lines = this.pending.split('\n')
    this.pending = lines.pop() ?? ''
    if (this.pending.length > this.maxLine) throw new Error(`a line exceeds ${this.maxLine} characters`)
    return lines
  }
}

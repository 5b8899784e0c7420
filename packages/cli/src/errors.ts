/** exit codes scripts can rely on */
export const EXIT = {
  ok: 0,
  /** the node refused or failed the request */
  failure: 1,
  /** bad arguments or input */
  usage: 2,
  /** no node runs on this data dir */
  notRunning: 3,
  /** --wait gave up before the mesh got there */
  timeout: 4
} as const

/** the CLI stays light to start: it loads the node and protocol packages only in the verbs that need them */
export class CliError extends Error {
  constructor (message: string, readonly exitCode: number = EXIT.failure, readonly code?: string) {
    super(message)
    this.name = 'CliError'
  }
}

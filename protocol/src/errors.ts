/**
 * One class per failure; `err.name` is the class name, which tests check.
 * Messages say what happened and what to do, in sentence case, no trailing period.
 */

export class MingaError extends Error {
  constructor (message: string) {
    super(message)
    this.name = new.target.name
  }
}

export class InvalidIdentityError extends MingaError {}
export class InvalidEntryError extends MingaError {}
export class UnauthorizedWriteError extends MingaError {}
export class StorageError extends MingaError {}
export class InvalidInviteError extends MingaError {}
export class ExpiredInviteError extends MingaError {}
export class InvalidMessageError extends MingaError {}
export class MessageTooLargeError extends MingaError {}
export class InvalidSecretError extends MingaError {}

export class InvalidSpecError extends MingaError {
  /** every problem found, each `path: what is wrong (what is allowed)` */
  readonly problems: string[]
  constructor (problems: string[], source = 'The service spec') {
    super(`${source} is invalid:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

/** a logs session refused or failed on the node that serves it; `code` says why (`not-member`, `busy`, `no-session`, `bad-request`, `bad-response`) */
export class LogsProtocolError extends MingaError {
  constructor (readonly code: string, message: string) {
    super(message)
  }
}

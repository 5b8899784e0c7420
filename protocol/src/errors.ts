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

/** a node key that is not an Ed25519 key, or damaged */
export class InvalidIdentityError extends MingaError {}
/** an entry whose fields or sizes are not what the protocol allows */
export class InvalidEntryError extends MingaError {}
/** a local write the mesh would refuse (the author may not write that key, or its value is invalid) */
export class UnauthorizedWriteError extends MingaError {}
/** the state store failed (disk full, in use by another process, damaged); nothing was acknowledged */
export class StorageError extends MingaError {}
/** an invite token that is damaged, forged or of another version */
export class InvalidInviteError extends MingaError {}
/** an invite token past its expiry; ask a member for a new one */
export class ExpiredInviteError extends MingaError {}
/** a wire message (or a control-API body) that breaks a rule; the message names the field */
export class InvalidMessageError extends MingaError {}
/** a wire message over its type's byte limit */
export class MessageTooLargeError extends MingaError {}
/** a sealed secret that is damaged or not sealed to this node */
export class InvalidSecretError extends MingaError {}

/** a service spec with problems; `problems` lists each as `path: what is wrong (what is allowed)` */
export class InvalidSpecError extends MingaError {
  /** every problem found, each `path: what is wrong (what is allowed)` */
  readonly problems: string[]
  constructor (problems: string[], source = 'The service spec') {
    super(`${source} is invalid:\n  - ${problems.join('\n  - ')}`)
    this.problems = problems
  }
}

/** a logs session refused or failed on the node that serves it; `code` says why (`not-member`, `busy`, `no-session`, `bad-request`, `bad-response`) */
/** a replica's node refused a forwarded connection, or its answer was not one; `code` is a ForwardErrorCode */
export class ForwardProtocolError extends MingaError {
  constructor (readonly code: 'no-replica' | 'refused' | 'forbidden' | 'bad-request', message: string) {
    super(message)
  }
}

export class LogsProtocolError extends MingaError {
  constructor (readonly code: string, message: string) {
    super(message)
  }
}

/** a node refused a chunks request, or answered one wrongly; `code`: forbidden, missing, busy, bad-request, bad-response, failed */
export class ChunksProtocolError extends MingaError {
  constructor (readonly code: string, message: string) {
    super(message)
  }
}

/** what was thrown, as a message: an Error's message, else its text */
export function messageOf (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** a thrown value's `code` (Node's system errors: 'ENOENT'…, minga's LogsProtocolError), if it has one */
export function codeOf (err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null | undefined)?.code
  return typeof code === 'string' ? code : undefined
}

/** a thrown value's class name (`err.name`), which minga's errors set to their class; undefined for a non-Error */
export function nameOf (err: unknown): string | undefined {
  return err instanceof Error ? err.name : undefined
}

/** what was thrown, as an Error (a stream's abort wants one) */
export function toError (err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err))
}

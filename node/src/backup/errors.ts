/**
 * Failures of backups: one class per failure, `err.name` is the class name.
 * The blob errors carry the wire code a holder answers with.
 */
import { MingaError, type BlobErrorCode } from '@minga/protocol'

export class BackupError extends MingaError {}

/** a holder refused or failed a blob request; `code` is what it answered */
export class BlobError extends BackupError {
  constructor (readonly code: BlobErrorCode, message: string) {
    super(message)
  }
}

/** storing the blob would pass the operator's quota (`minga up --backup-quota`) */
export class QuotaExceededError extends BlobError {
  constructor (message: string) { super('quota', message) }
}

/** the blob's bytes do not hash to its name */
export class BlobHashMismatchError extends BlobError {
  constructor (message: string) { super('bad-hash', message) }
}

/** no holder had a good copy of the blob */
export class BlobUnavailableError extends BackupError {}

/** restic failed; the message carries its last lines of output */
export class ResticError extends BackupError {
  constructor (message: string, readonly exitCode?: number) {
    super(message)
  }
}

/** restic is not installed, or not a version minga can drive */
export class ResticMissingError extends BackupError {}

/**
 * One class per failure; `err.name` is the class name, which tests check.
 * The scheduler is pure: it throws only on input that a keyed, replicated
 * state can never produce, so reaching one of these means a caller bug.
 */
import { MingaError } from '@minga/protocol'

/** a caller bug: input that a replicated state can never produce */
export class SchedulerError extends MingaError {}

/** a service listed twice in one call */
export class DuplicateServiceError extends SchedulerError {
  constructor (id: string) {
    super(`Service ${id} is listed twice; pass each service once (one per service/<org>/<name> key)`)
  }
}

/** a node listed twice in one call */
export class DuplicateNodeError extends SchedulerError {
  constructor (id: string) {
    super(`Node ${id} is listed twice; pass each live node once`)
  }
}

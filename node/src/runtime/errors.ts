/**
 * Runtime failures, one class per failure; `err.name` is the class name,
 * which callers and tests check. Messages say what happened and what to do.
 */
import { MingaError } from '@minga/protocol'

/** the image is not on this node and could not be pulled */
export class ImageNotFoundError extends MingaError {
  readonly image: string
  /** why it could not be pulled */
  readonly reason: string
  constructor (image: string, reason = 'no registry has it') {
    super(`Image ${image} is not on this node and could not be pulled (${reason}); push it into the mesh with "minga image push" from a node that has it, or to a registry the node can reach`)
    this.image = image
    this.reason = reason
  }
}

/** the engine refused to create or start the container; nothing was left behind */
export class RuntimeStartError extends MingaError {}

/** the container engine does not answer */
export class RuntimeUnavailableError extends MingaError {
  constructor (message = 'The container engine does not answer; start it or check its address') {
    super(message)
  }
}

/** no container with this id belongs to this node */
export class ContainerNotFoundError extends MingaError {
  readonly id: string
  constructor (id: string) {
    super(`No container ${id} runs on this node; list them with "minga ps"`)
    this.id = id
  }
}

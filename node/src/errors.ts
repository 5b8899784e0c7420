import { MingaError } from '@minga/protocol'

/** the data dir holds no mesh, a damaged file, or a node removed from its mesh */
export class DataDirError extends MingaError {}
/** the mesh refused this node's join, or its answer does not match the invite */
export class JoinError extends MingaError {}
/** no such service, node, proposal or secret (404) */
export class NotFoundError extends MingaError {}
/** a request that breaks a rule; the message says which and what to send (400) */
export class BadRequestError extends MingaError {}
/** the request is not this node's organization's to make (403) */
export class ForbiddenError extends MingaError {}
/** a secret of a service is not (yet) sealed to this node */
export class SecretUnavailableError extends MingaError {}
/** this node's clock is so far from the mesh's that the other nodes would refuse what it writes */
export class ClockSkewError extends MingaError {}
/** a config file's content has not reached this node (yet) */
export class ConfigUnavailableError extends MingaError {}
/** the request would replace something it does not own, e.g. another project's service */
export class ConflictError extends MingaError {}
/** a chunk's bytes do not match its digest: refused, never stored or served */
export class ChunkMismatchError extends MingaError {}
/** a chunk that should be on this node is not (or was found damaged and dropped) */
export class ChunkMissingError extends MingaError {}
/** the mesh could not give this node an image or a blob: no reachable member holds all of it */
export class ImageFetchError extends MingaError {}
/** an image that is not on this node's engine, not in the mesh, and not in any reachable registry */
export class ImageUnavailableError extends MingaError {}
/** the organization's scan gate refuses the image; the message lists the findings and how to waive them */
export class ImageGateError extends MingaError {}
/** a build or its test failed; the message says which and where its log is */
export class BuildError extends MingaError {}
/** the scanner failed, or none is configured where one is needed */
export class ScanError extends MingaError {}
/** no replica of a service took a forwarded connection in time */
export class NoReplicaError extends MingaError {}
/**
 * one attempt to hand a connection to a replica ended without an answer:
 * `timeout` (none within the forwarder's attemptMs), `gone` (the mesh's
 * view stopped listing the replica's node meanwhile: it was declared dead)
 */
export class ForwardAttemptError extends MingaError {
  constructor (readonly code: 'timeout' | 'gone', message: string) {
    super(message)
  }
}
/** a connection on a shared web port did not say which host it wants; `code`: closed, timeout, too-large or not-tls */
export class SniffError extends MingaError {
  constructor (readonly code: 'closed' | 'timeout' | 'too-large' | 'not-tls', message: string) {
    super(message)
  }
}
/** a commit of a git source that fails its checks (a bad file, a signature missing): it is not applied */
export class SourceCheckError extends MingaError {}
/** git could not fetch or read a source (the next poll retries) */
export class SourceFetchError extends MingaError {}
/** what was asked needs something this node cannot reach or does not have now, e.g. the node that runs a service, or restic (503) */
export class UnavailableError extends MingaError {}
/** the node's supervisor (which stops its containers if minga dies) could not be started or attached to */
export class SupervisorError extends MingaError {}
/** a frame on a shared request stream that breaks its format (host/shared-requests.ts): the stream is closed, nothing else changes */
export class BadFrameError extends MingaError {}
/** a peer failed to answer a request on a shared stream: its handler failed, the stream closed, or too many requests await it */
export class PeerRequestError extends MingaError {}
/** a shared request stream ended cleanly before it answered (the peer closed it, or its idle connection: host/connection-trim.ts); asked once more on a new stream */
export class StreamClosedError extends PeerRequestError {}

/**
 * The request/response protocols' codecs (logs, events, forward): wire messages
 * (wire.ts) narrowed to what each side may receive. A request that is not
 * one is refused with `LogsProtocolError('bad-request')` (the logs
 * protocol) or `InvalidMessageError`; an answer that is an `error` message
 * becomes the protocol's error.
 */
import { ChunksProtocolError, ForwardProtocolError, InvalidMessageError, LogsProtocolError, MessageTooLargeError } from './errors.js'
import { CHUNKS_REQUEST_TYPES, type ChunksRequest } from './wire-chunks.js'
import { decodeMessage, encodeMessage, type WireMessage } from './wire.js'
import type { EventsBatchMessage, EventsPollMessage } from './wire-events.js'
import { FORWARD_ERROR_CODES, MAX_FORWARD_MESSAGE_BYTES, type ForwardErrorCode, type ForwardOkMessage, type ForwardRequestMessage } from './wire-forward.js'
import { VOLUMES_REQUEST_TYPES, VOLUMES_RESPONSE_TYPES, type VolumesRequest, type VolumesResponse } from './wire-volumes.js'
import { LOGS_REQUEST_TYPES, LOGS_RESPONSE_TYPES, MAX_LOGS_REQUEST_BYTES, type LogsRequest, type LogsResponse } from './wire-logs.js'

/** a logs or events message, checked and encoded (InvalidMessageError, MessageTooLargeError) */
export function encodeLogs (message: LogsRequest | LogsResponse | Extract<WireMessage, { type: 'error' }>): Uint8Array {
  return encodeMessage(message)
}

/** a logs request from the wire, checked field by field; throws LogsProtocolError('bad-request') saying what is wrong */
export function decodeLogsRequest (data: Uint8Array): LogsRequest {
  if (data.byteLength > MAX_LOGS_REQUEST_BYTES) throw new LogsProtocolError('bad-request', `A logs request is at most ${MAX_LOGS_REQUEST_BYTES} bytes`)
  try {
    return decodeMessage(data, { types: LOGS_REQUEST_TYPES }) as LogsRequest
  } catch (err) {
    if (err instanceof InvalidMessageError || err instanceof MessageTooLargeError) throw new LogsProtocolError('bad-request', err.message)
    throw err
  }
}

/** a node's answer to a logs request; an `error` answer, or anything that is not an answer, throws LogsProtocolError */
export function decodeLogsResponse (data: Uint8Array): LogsResponse {
  let message: WireMessage
  try {
    message = decodeMessage(data, { types: [...LOGS_RESPONSE_TYPES, 'error'] })
  } catch (err) {
    if (err instanceof InvalidMessageError || err instanceof MessageTooLargeError) throw new LogsProtocolError('bad-response', `The node answered something that is not a logs message: ${err.message}`)
    throw err
  }
  if (message.type === 'error') throw new LogsProtocolError(message.code, message.message)
  return message as LogsResponse
}

/** an events request from the wire; InvalidMessageError or MessageTooLargeError when it is not one */
export function decodeEventsRequest (data: Uint8Array): EventsPollMessage {
  return decodeMessage(data, { types: ['events-poll'] }) as EventsPollMessage
}

/** a node's answer to an events request; an `error` answer throws an Error with its message */
export function decodeEventsResponse (data: Uint8Array): EventsBatchMessage {
  const message = decodeMessage(data, { types: ['events-batch', 'error'] })
  if (message.type === 'error') throw new Error(message.message)
  return message as EventsBatchMessage
}

/** a chunks request from the wire; InvalidMessageError or MessageTooLargeError when it is not one */
export function decodeChunksRequest (data: Uint8Array): ChunksRequest {
  return decodeMessage(data, { types: CHUNKS_REQUEST_TYPES }) as ChunksRequest
}

/** a node's answer to a chunks request of `type`; an `error` answer throws ChunksProtocolError with its code */
export function decodeChunksResponse<T extends 'chunks-have' | 'chunks-held-ok'> (data: Uint8Array, type: T): Extract<WireMessage, { type: T }> {
  let message: WireMessage
  try {
    message = decodeMessage(data, { types: [type, 'error'] })
  } catch (err) {
    if (err instanceof InvalidMessageError || err instanceof MessageTooLargeError) throw new ChunksProtocolError('bad-response', `The node answered something that is not a ${type} message: ${err.message}`)
    throw err
  }
  if (message.type === 'error') throw new ChunksProtocolError(message.code, message.message)
  return message as Extract<WireMessage, { type: T }>
}

/** a forward request from the wire; ForwardProtocolError('bad-request') saying what is wrong when it is not one */
export function decodeForwardRequest (data: Uint8Array): ForwardRequestMessage {
  if (data.byteLength > MAX_FORWARD_MESSAGE_BYTES) throw new ForwardProtocolError('bad-request', `A forward request is at most ${MAX_FORWARD_MESSAGE_BYTES} bytes`)
  try {
    return decodeMessage(data, { types: ['forward'] }) as ForwardRequestMessage
  } catch (err) {
    if (err instanceof InvalidMessageError || err instanceof MessageTooLargeError) throw new ForwardProtocolError('bad-request', err.message)
    throw err
  }
}

/** the replica's node's answer to a forward; an `error` answer throws ForwardProtocolError with its code, as does anything that is no answer */
export function decodeForwardAnswer (data: Uint8Array): ForwardOkMessage {
  let message: WireMessage
  try {
    message = decodeMessage(data, { types: ['forward-ok', 'error'] })
  } catch (err) {
    if (err instanceof InvalidMessageError || err instanceof MessageTooLargeError) throw new ForwardProtocolError('bad-request', `The replica's node answered something that is no forward answer: ${err.message}`)
    throw err
  }
  if (message.type === 'error') {
    const code = FORWARD_ERROR_CODES.includes(message.code as ForwardErrorCode) ? message.code as ForwardErrorCode : 'bad-request'
    throw new ForwardProtocolError(code, message.message)
  }
  return message as ForwardOkMessage
}

/** a volumes message, checked and encoded (InvalidMessageError, MessageTooLargeError) */
export function encodeVolumes (message: VolumesRequest | VolumesResponse | Extract<WireMessage, { type: 'error' }>): Uint8Array {
  return encodeMessage(message)
}

/** a volumes request from the wire; InvalidMessageError or MessageTooLargeError when it is not one */
export function decodeVolumesRequest (data: Uint8Array): VolumesRequest {
  return decodeMessage(data, { types: VOLUMES_REQUEST_TYPES }) as VolumesRequest
}

/** a node's answer to a volumes request; an `error` answer throws an Error with its message and code */
export function decodeVolumesResponse (data: Uint8Array): VolumesResponse {
  const message = decodeMessage(data, { types: [...VOLUMES_RESPONSE_TYPES, 'error'] })
  if (message.type === 'error') throw Object.assign(new Error(message.message), { code: message.code })
  return message as VolumesResponse
}

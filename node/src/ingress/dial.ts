/**
 * The last hop of a forwarded connection: a TCP connection to a container's
 * port on this node's bridge network, with the PROXY protocol header first
 * when the port asks for it. Resolves once connected, so a refusal (nothing
 * listens yet, the container just died) happens before any byte of the
 * client flowed and another replica can take the connection.
 */
import net, { type Socket } from 'node:net'
import type { Endpoint } from '@minga/protocol'

export interface DialOptions {
  signal: AbortSignal
  /** bytes sent before anything else (the PROXY v2 header) */
  header?: Uint8Array
}

/** connect to `target`; rejects with the socket's error or the signal's reason, leaving nothing open */
export async function dialContainer (target: Endpoint, options: DialOptions): Promise<Socket> {
  options.signal.throwIfAborted()
  const socket = net.connect({ host: target.address, port: target.port, allowHalfOpen: true, noDelay: true })
  try {
    await new Promise<void>((resolve, reject) => {
      const onAbort = (): void => { reject(options.signal.reason) }
      const done = (): void => { options.signal.removeEventListener('abort', onAbort); socket.off('error', reject) }
      options.signal.addEventListener('abort', onAbort, { once: true })
      socket.once('error', reject)
      socket.once('connect', () => { done(); resolve() })
      // settle listeners either way
      socket.once('close', done)
    })
  } catch (err) {
    socket.destroy()
    throw err
  }
  if (options.header !== undefined) socket.write(options.header)
  return socket
}

/**
 * The private-network connection protector: libp2p's pnet protocol
 * (`/key/swarm/psk/1.0.0/`, as go-libp2p and @libp2p/pnet speak it), with
 * XSalsa20 from libsodium (sodium-native) instead of the `xsalsa20` wasm
 * module. Same bytes on the wire, so nodes with either protector talk to
 * each other.
 *
 * The protocol: each side sends a random 24-byte nonce, then everything it
 * writes is XORed with the XSalsa20 key stream of (its nonce, the 32-byte
 * pre-shared key); it reads with the stream of the other side's nonce. A
 * peer without the key produces garbage, and the Noise handshake that
 * follows fails.
 *
 * Why not @libp2p/pnet 3.0.27: it hands XSalsa20 the whole write queue at
 * once (MBs under backpressure), and the wasm module's one shared memory
 * then grows until `WebAssembly.Memory.grow()` throws "Maximum memory size
 * exceeded" — an uncaught exception on the read side, a connection that
 * silently stops moving data on the write side — after some tens to
 * hundreds of MB of bulk traffic (fixed upstream in libp2p/js-libp2p#3585,
 * unreleased). libsodium keeps no shared memory and runs ~10× faster
 * (3.1 GB/s against 290 MB/s on one core here; docs/INGRESS.md).
 */
import { randomBytes } from 'node:crypto'
import { byteStream, AbstractMultiaddrConnection } from '@libp2p/utils'
import sodium from 'sodium-native'
import type { AbortOptions, ConnectionProtector, MultiaddrConnection } from '@libp2p/interface'
import type { SendResult } from '@libp2p/utils'
import { swarmKeyBytes } from '@minga/protocol'

/** bytes of the nonce each side sends first */
export const PNET_NONCE_BYTES = 24
/** how long the nonce exchange may take when libp2p gives no signal (what @libp2p/pnet waits) */
const NONCE_TIMEOUT_MS = 1000

/** the streaming XSalsa20 of sodium-native (its typings predate these functions) */
interface XSalsa20Stream {
  crypto_stream_xor_STATEBYTES: number
  crypto_stream_xor_init: (state: Buffer, nonce: Uint8Array, key: Uint8Array) => void
  crypto_stream_xor_update: (state: Buffer, out: Uint8Array, input: Uint8Array) => void
  crypto_stream_xor_final: (state: Buffer) => void
}
const xsalsa = sodium as unknown as XSalsa20Stream

/** one direction's key stream; `update` XORs the next bytes of it into a fresh buffer */
class KeyStream {
  private readonly state = Buffer.alloc(xsalsa.crypto_stream_xor_STATEBYTES)
  open = true

  constructor (nonce: Uint8Array, key: Uint8Array) {
    xsalsa.crypto_stream_xor_init(this.state, nonce, key)
  }

  update (input: Uint8Array): Uint8Array {
    if (!this.open) throw new Error('The private-network cipher of this connection is closed')
    const output = Buffer.allocUnsafe(input.byteLength)
    xsalsa.crypto_stream_xor_update(this.state, output, input)
    return output
  }

  /** wipes the key stream state; later updates throw */
  final (): void {
    if (!this.open) return
    this.open = false
    xsalsa.crypto_stream_xor_final(this.state)
  }
}

interface ProtectedInit {
  connection: MultiaddrConnection
  key: Uint8Array
  localNonce: Uint8Array
  remoteNonce: Uint8Array
}

/** the connection above the protector: what it sends is enciphered part by part, what it reads deciphered */
class ProtectedConnection extends AbstractMultiaddrConnection {
  private readonly inner: MultiaddrConnection
  private readonly inbound: KeyStream
  private readonly outbound: KeyStream

  constructor (init: ProtectedInit) {
    super({ remoteAddr: init.connection.remoteAddr, direction: init.connection.direction, log: init.connection.log.newScope('pnet') })
    this.inner = init.connection
    this.inbound = new KeyStream(init.remoteNonce, init.key)
    this.outbound = new KeyStream(init.localNonce, init.key)
    this.inner.addEventListener('message', (event) => {
      // after the connection closed, its key streams are wiped: nothing more is read
      if (!this.inbound.open) return
      const data = event.data
      if (data instanceof Uint8Array) this.onData(this.inbound.update(data))
      else for (const part of data) this.onData(this.inbound.update(part))
    })
    this.inner.addEventListener('drain', () => { this.onMuxerDrain() })
    this.inner.addEventListener('close', (event) => {
      if (event.error != null) {
        if (event.local === true) this.abort(event.error)
        else this.onRemoteReset()
      } else {
        this.onTransportClosed()
      }
      this.inbound.final()
      this.outbound.final()
    })
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.inner.close(options)
  }

  sendData (data: Parameters<AbstractMultiaddrConnection['sendData']>[0]): SendResult {
    // part by part: never one buffer of the whole write queue
    let canSendMore = true
    for (const part of data) canSendMore = this.inner.send(this.outbound.update(part))
    return { sentBytes: data.byteLength, canSendMore }
  }

  sendReset (err: Error): void {
    this.inner.abort(err)
  }

  sendPause (): void {
    this.inner.pause()
  }

  sendResume (): void {
    this.inner.resume()
  }
}

class PreSharedKeyProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = '@minga/pnet'
  private readonly key: Uint8Array

  constructor (psk: Uint8Array) {
    this.key = swarmKeyBytes(psk)
  }

  async protect (connection: MultiaddrConnection, options?: AbortOptions): Promise<MultiaddrConnection> {
    const signal = options?.signal ?? AbortSignal.timeout(NONCE_TIMEOUT_MS)
    const localNonce = new Uint8Array(randomBytes(PNET_NONCE_BYTES))
    const bytes = byteStream(connection)
    const [remoteNonce] = await Promise.all([
      bytes.read({ bytes: PNET_NONCE_BYTES, signal }),
      bytes.write(localNonce, { signal })
    ])
    return new ProtectedConnection({ connection: bytes.unwrap(), key: this.key, localNonce, remoteNonce: remoteNonce.subarray() })
  }
}

/**
 * The protector for libp2p's `connectionProtector` option.
 *
 * @param init.psk - the `/key/swarm/psk/1.0.0/` key file (95 bytes, base16), as `newSwarmKey` makes it
 * @throws InvalidInviteError when `psk` is not such a file
 */
export function preSharedKey (init: { psk: Uint8Array }): () => ConnectionProtector {
  const protector = new PreSharedKeyProtector(init.psk)
  return () => protector
}

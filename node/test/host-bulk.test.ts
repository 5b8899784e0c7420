/**
 * Bulk traffic over a real mesh connection: two libp2p hosts built by the
 * node's own `defaults()` (TCP, private-network protector, Noise, Yamux)
 * on 127.0.0.1, in one process. A few hundred MB must arrive intact both
 * ways, and a reader that pauses a stream must hold the sender back rather
 * than have its stream reset.
 *
 * Both failed with @libp2p/pnet 3.0.27: its wasm XSalsa20 threw "Maximum
 * memory size exceeded" after tens of MB (the process died, or the
 * connection stopped moving data without an error), and Yamux's window grew
 * to 16 MiB while a paused stream may buffer only 4 MiB.
 */
import '../src/polyfill.js'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash, randomBytes } from 'node:crypto'
import { createLibp2p, type Libp2p } from 'libp2p'
import type { Stream } from '@libp2p/interface'
import { generateIdentity, newSwarmKey } from '@minga/protocol'
import { defaults } from '../src/host/libp2p-config.js'
import { MemberGater } from '../src/host/gater.js'

const MiB = 1024 * 1024
const PROTOCOL = '/minga/test/bulk/1.0.0'
/** the transfer gives up when no byte moved for this long: a wedged connection never errors */
const STALL_MS = 60_000

async function host (psk: Uint8Array): Promise<Libp2p> {
  const identity = await generateIdentity()
  const config = defaults({ privateKey: identity.privateKey, meshId: 'bulktest', psk, listen: ['/ip4/127.0.0.1/tcp/0'], gater: new MemberGater({ isMember: () => true }) })
  return await createLibp2p(config)
}

/** a pseudo-random block repeated: cheap to make, and a wrong or lost byte changes the hash */
function pattern (seed: number): Buffer {
  return randomBytes(64 * 1024).fill(seed, 0, 1)
}

/** writes `total` bytes of `block` with backpressure; resolves with the sha256 of what it sent */
async function sendAll (stream: Stream, block: Buffer, total: number, progress: { sent: number }): Promise<string> {
  const hash = createHash('sha256')
  while (progress.sent < total) {
    const chunk = block.subarray(0, Math.min(block.length, total - progress.sent))
    hash.update(chunk)
    progress.sent += chunk.length
    if (!stream.send(chunk)) await stream.onDrain().catch(rethrow)
  }
  await stream.close().catch(rethrow)
  return hash.digest('hex')
}

/** libp2p rejects a wait on a stream that closed with the close event itself: its error says why */
function rethrow (reason: any): never {
  if (reason instanceof Error) throw reason
  throw new Error(`The stream closed: ${reason?.error?.message ?? 'no error given'}`, { cause: reason?.error })
}

/** reads until the remote closes its side; resolves with the sha256 and byte count of what arrived */
async function receiveAll (stream: Stream, progress: { received: number }): Promise<{ hash: string, bytes: number }> {
  const hash = createHash('sha256')
  for await (const data of stream) {
    for (const part of data instanceof Uint8Array ? [data] : data) hash.update(part)
    progress.received += data.byteLength
  }
  return { hash: hash.digest('hex'), bytes: progress.received }
}

/** rejects when `progress()` stays the same for STALL_MS, or when the process sees an uncaught exception */
function watchdog (progress: () => number, what: string): { promise: Promise<never>, stop: () => void } {
  let last = -1
  let lastChange = Date.now()
  let timer: ReturnType<typeof setInterval> | undefined
  let onUncaught: ((err: Error) => void) | undefined
  const promise = new Promise<never>((_resolve, reject) => {
    timer = setInterval(() => {
      const now = progress()
      if (now !== last) { last = now; lastChange = Date.now(); return }
      if (Date.now() - lastChange > STALL_MS) reject(new Error(`${what}: no byte moved for ${STALL_MS / 1000} s after ${(now / MiB).toFixed(0)} MiB (a wedged connection)`))
    }, 500)
    onUncaught = (err) => reject(new Error(`${what}: uncaught exception after ${(progress() / MiB).toFixed(0)} MiB: ${err.message}`))
    process.prependListener('uncaughtException', onUncaught)
  })
  return {
    promise,
    stop: () => {
      clearInterval(timer)
      if (onUncaught !== undefined) process.removeListener('uncaughtException', onUncaught)
    }
  }
}

let a: Libp2p
let b: Libp2p

test.before(async () => {
  const psk = newSwarmKey()
  ;[a, b] = await Promise.all([host(psk), host(psk)])
})

test.after(async () => {
  await Promise.all([a?.stop(), b?.stop()])
})

test('hundreds of MB cross one mesh connection intact, both ways at once', async () => {
  const total = 320 * MiB
  const back = { sent: 0, received: 0 }
  const forth = { sent: 0, received: 0 }
  const echoed = new Promise<{ hash: string, bytes: number, sent: string }>((resolve, reject) => {
    void b.handle(PROTOCOL, async (stream) => {
      try {
        const [received, sent] = await Promise.all([receiveAll(stream, forth), sendAll(stream, pattern(2), total, back)])
        resolve({ ...received, sent })
      } catch (err) {
        reject(err)
      }
    }, { force: true })
  })
  const stream = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
  const guard = watchdog(() => forth.received + back.received, 'bulk transfer')
  try {
    const [sentForth, receivedBack, atB] = await Promise.race([Promise.all([sendAll(stream, pattern(1), total, forth), receiveAll(stream, back), echoed]), guard.promise])
    assert.is(atB.bytes, total, 'every byte A sent arrived at B')
    assert.is(atB.hash, sentForth, 'A → B intact')
    assert.is(receivedBack.bytes, total, 'every byte B sent arrived at A')
    assert.is(receivedBack.hash, atB.sent, 'B → A intact')
  } finally {
    guard.stop()
  }
})

test('a reader that pauses a stream holds the sender back; nothing is reset or lost', async () => {
  const total = 96 * MiB
  const progress = { sent: 0, received: 0 }
  let accepted: Stream | undefined
  /** bytes received when the reader paused */
  let pausedAt: number | undefined
  const hash = createHash('sha256')
  const ended = new Promise<void>((resolve, reject) => {
    void b.handle(PROTOCOL, (stream) => {
      accepted = stream
      stream.addEventListener('message', (event) => {
        for (const part of event.data instanceof Uint8Array ? [event.data] : event.data) hash.update(part)
        progress.received += event.data.byteLength
        // once the window has grown, the reader stops reading for a while (a forwarder whose socket is full),
        // between two messages: the sender may still send what the last window update allowed
        if (progress.received >= 32 * MiB && pausedAt === undefined) {
          pausedAt = -1
          setImmediate(() => { stream.pause(); pausedAt = progress.received })
        }
      })
      stream.addEventListener('remoteCloseWrite', () => resolve())
      stream.addEventListener('close', (event) => { if (event.error !== undefined) reject(event.error) })
    }, { force: true })
  })
  const stream = await a.dialProtocol(b.getMultiaddrs(), PROTOCOL)
  const guard = watchdog(() => progress.sent + progress.received + (accepted?.readBufferLength ?? 0), 'paused transfer')
  try {
    const sending = sendAll(stream, pattern(3), total, progress)
    sending.catch(() => {})
    // the sender has run out of window (bytes wait in its own buffer), and every byte it framed waits in B's read buffer
    const settled = (): boolean => pausedAt !== undefined && pausedAt >= 0 && stream.writeBufferLength > 0 &&
      accepted!.readBufferLength === progress.sent - stream.writeBufferLength - pausedAt
    await Promise.race([until(settled, () => accepted?.status !== 'open'), guard.promise])
    assert.is(accepted!.status, 'open', 'the paused stream is still open')
    accepted!.resume()
    const sent = await Promise.race([sending, guard.promise])
    await Promise.race([ended, guard.promise])
    assert.is(progress.received, total)
    assert.is(hash.digest('hex'), sent)
  } finally {
    guard.stop()
  }
})

/** resolves when `done()` holds; rejects when `failed()` does first */
async function until (done: () => boolean, failed: () => boolean): Promise<void> {
  while (!done()) {
    if (failed()) throw new Error('The paused stream was closed or reset (its read buffer overflowed)')
    await new Promise(resolve => setTimeout(resolve, 20))
  }
}

test.run()

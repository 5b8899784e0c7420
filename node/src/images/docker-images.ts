/**
 * The node's Docker engine as an ImageEngine: images inspected, saved
 * (`GET /images/{id}/get`, a tar whose `<id>.json` is the config and whose
 * `*\/layer.tar` are the layers, each hashing to its diff id), loaded
 * (`POST /images/load` of a tar minga writes: a manifest, the config, and
 * only the layers whose stack the engine lacks — Docker skips a layer it
 * holds and checks every other against the config's diff ids), pulled, and
 * asked for a registry's current digest without a pull
 * (`GET /distribution/{ref}/json`).
 */
import { once } from 'node:events'
import { createWriteStream } from 'node:fs'
import { pipeline } from 'node:stream/promises'
import Docker from 'dockerode'
import { sha256Hex } from '@minga/protocol'
import { extract, pack } from 'tar-stream'
import { PULL_TIMEOUT_MS } from '../runtime/constants.js'
import { pullImage } from '../runtime/docker-images.js'
import { jsonLines } from '../runtime/docker-streams.js'
import { dial, dockerMessage, engineAddress, engineCall, statusCode, type CallContext } from '../runtime/docker-util.js'
import { linkSignals } from '../runtime/signals.js'
import type { AbortOptions } from '../runtime/types.js'
import { chainIds } from '../core/images/image-config.js'
import type { EngineImage, ImageEngine, LoadFile, SavedFile } from '../core/images/types.js'

const CONFIG_NAME = /^[0-9a-f]{64}\.json$/
const LAYER_NAME = /^[^/]+\/layer\.tar$/
/** how long a save or a load may take */
const TRANSFER_TIMEOUT_MS = 30 * 60_000

interface InspectInfo { Id: string, RepoTags?: string[] | null, RepoDigests?: string[] | null, RootFS?: { Layers?: string[] }, Size?: number }

export interface DockerImagesInit {
  /** a unix socket path (or `unix://…`, `tcp://host:port`); default DOCKER_HOST, then /var/run/docker.sock */
  socketPath?: string
  pullTimeoutMs?: number
}

/** Docker's images (see above) */
export class DockerImages implements ImageEngine {
  readonly docker: Docker
  private readonly ctx: CallContext
  private readonly closing = new AbortController()
  private readonly pullTimeoutMs: number
  /** chain ids of each image id: an image never changes */
  private readonly chains = new Map<string, string[]>()

  constructor (init: DockerImagesInit = {}) {
    const address = engineAddress(init.socketPath)
    this.docker = new Docker(address.options)
    this.ctx = { address: address.label, closing: this.closing.signal }
    this.pullTimeoutMs = init.pullTimeoutMs ?? PULL_TIMEOUT_MS
  }

  close (): void {
    this.closing.abort()
  }

  async inspect (ref: string, options: AbortOptions = {}): Promise<EngineImage | undefined> {
    try {
      const info = await engineCall(this.ctx, async signal => await dial<InspectInfo>(this.docker, { path: `/images/${encodeURIComponent(ref)}/json`, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } }, signal), options)
      return {
        id: info.Id,
        tags: (info.RepoTags ?? []).filter(t => t !== '<none>:<none>'),
        repoDigests: (info.RepoDigests ?? []).filter(d => !d.startsWith('<none>')),
        layers: info.RootFS?.Layers ?? [],
        size: info.Size ?? 0
      }
    } catch (err) {
      if (statusCode(err) === 404) return undefined
      throw err
    }
  }

  async * save (id: string, options: AbortOptions = {}): AsyncIterable<SavedFile> {
    const linked = linkSignals([options.signal, this.ctx.closing], TRANSFER_TIMEOUT_MS)
    const tar = extract()
    try {
      const body = await engineCall(this.ctx, async signal => await dial<NodeJS.ReadableStream>(this.docker, { path: `/images/${encodeURIComponent(id)}/get`, isStream: true, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } }, signal), { signal: linked.signal })
      body.pipe(tar)
      body.on('error', (err: Error) => tar.destroy(err))
      for await (const entry of tar) {
        const { name, type, size } = entry.header
        const role = type === 'file' && CONFIG_NAME.test(name) ? 'config' : type === 'file' && LAYER_NAME.test(name) ? 'layer' : undefined
        if (role === undefined) {
          // the legacy files (json, VERSION), manifest.json, and symlinks to a layer saved once already
          entry.resume()
          continue
        }
        yield { role, name, size: size ?? 0, data: entry as unknown as AsyncIterable<Uint8Array> }
      }
    } finally {
      linked.dispose()
      tar.destroy()
    }
  }

  /** writes the image as `docker save` does, to `path` (for a scanner) */
  async saveTar (id: string, path: string, options: AbortOptions = {}): Promise<void> {
    const linked = linkSignals([options.signal, this.ctx.closing], TRANSFER_TIMEOUT_MS)
    try {
      const body = await engineCall(this.ctx, async signal => await dial<NodeJS.ReadableStream>(this.docker, { path: `/images/${encodeURIComponent(id)}/get`, isStream: true, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } }, signal), { signal: linked.signal })
      await pipeline(body, createWriteStream(path, { mode: 0o600 }), { signal: linked.signal })
    } finally {
      linked.dispose()
    }
  }

  async load (image: { config: Uint8Array, layers: LoadFile[], tags: string[] }, options: AbortOptions = {}): Promise<void> {
    const configHex = sha256Hex(image.config)
    const archive = pack()
    const linked = linkSignals([options.signal, this.ctx.closing], TRANSFER_TIMEOUT_MS)
    try {
      const answer = dial<NodeJS.ReadableStream>(this.docker, { path: '/images/load?quiet=1', method: 'POST', file: archive as unknown as NodeJS.ReadableStream, isStream: true, statusCodes: { 200: true, 500: 'server error' } }, linked.signal)
      const written = this.writeArchive(archive, configHex, image)
      // the engine answers once it has read the whole archive
      const [response] = await Promise.all([answer, written])
      for await (const value of jsonLines(response as AsyncIterable<Uint8Array>)) {
        const message = value as { error?: string, errorDetail?: { message?: string } }
        const error = message.errorDetail?.message ?? message.error
        if (error !== undefined) throw new Error(`The engine refused the image: ${error}`)
      }
    } catch (err) {
      archive.destroy()
      throw new Error(`Loading ${configHex.slice(0, 12)} into ${this.ctx.address} failed: ${dockerMessage(err)}`)
    } finally {
      linked.dispose()
    }
  }

  private async writeArchive (archive: ReturnType<typeof pack>, configHex: string, image: { config: Uint8Array, layers: LoadFile[], tags: string[] }): Promise<void> {
    const manifest = [{ Config: `${configHex}.json`, RepoTags: image.tags, Layers: image.layers.map(l => `${l.digest}/layer.tar`) }]
    await entry(archive, 'manifest.json', Buffer.from(JSON.stringify(manifest)))
    await entry(archive, `${configHex}.json`, Buffer.from(image.config))
    for (const layer of image.layers) {
      if (layer.data === undefined) continue
      await streamEntry(archive, `${layer.digest}/layer.tar`, layer.size, layer.data())
    }
    archive.finalize()
  }

  async layerChains (options: AbortOptions = {}): Promise<Set<string>> {
    const list = await engineCall(this.ctx, async signal => await dial<Array<{ Id: string }>>(this.docker, { path: '/images/json', statusCodes: { 200: true, 500: 'server error' } }, signal), options)
    const out = new Set<string>()
    for (const { Id } of list) {
      let chains = this.chains.get(Id)
      if (chains === undefined) {
        const info = await this.inspect(Id, options)
        if (info === undefined) continue
        chains = chainIds(info.layers)
        this.chains.set(Id, chains)
      }
      for (const chain of chains) out.add(chain)
    }
    return out
  }

  async pull (ref: string, options: AbortOptions = {}): Promise<EngineImage> {
    await pullImage(this.docker, this.ctx, ref, { signal: options.signal, pullTimeoutMs: this.pullTimeoutMs })
    const image = await this.inspect(ref, options)
    if (image === undefined) throw new Error(`The pull of ${ref} finished but the engine does not have it`)
    return image
  }

  async registryDigest (ref: string, options: AbortOptions = {}): Promise<string | undefined> {
    try {
      const answer = await engineCall(this.ctx, async signal => await dial<{ Descriptor?: { digest?: string } }>(this.docker, { path: `/distribution/${encodeURIComponent(ref)}/json`, statusCodes: { 200: true, 401: 'unauthorized', 403: 'forbidden', 404: 'not found', 500: 'server error' } }, signal), { ...options, timeoutMs: 30_000 })
      return answer.Descriptor?.digest
    } catch {
      return undefined
    }
  }
}

/** one whole entry of the archive */
async function entry (archive: ReturnType<typeof pack>, name: string, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    archive.entry({ name, size: bytes.length, mtime: new Date(0) }, bytes, (err) => { if (err != null) reject(err); else resolve() })
  })
}

/** one entry streamed from `data`, with backpressure */
async function streamEntry (archive: ReturnType<typeof pack>, name: string, size: number, data: AsyncIterable<Uint8Array>): Promise<void> {
  let done!: Promise<void>
  const sink = await new Promise<ReturnType<typeof archive.entry>>((resolve) => {
    done = new Promise<void>((_resolve, reject) => {
      resolve(archive.entry({ name, size, mtime: new Date(0) }, (err) => { if (err != null) reject(err); else _resolve() }))
    })
  })
  for await (const part of data) {
    if (!sink.write(Buffer.from(part.buffer, part.byteOffset, part.byteLength))) await once(sink as unknown as NodeJS.EventEmitter, 'drain')
  }
  sink.end(undefined)
  await done
}

/**
 * Images: used when the engine has them, otherwise pulled with progress.
 * An image that cannot be pulled (no registry reachable, unknown name)
 * becomes ImageNotFoundError, which tells the operator how to load it.
 */
import { jsonLines } from './docker-streams.js'
import { dial, dockerMessage, engineCall, engineError, statusCode } from './docker-util.js'
import { ImageNotFoundError } from './errors.js'
import { linkSignals } from './signals.js'
import type { CallContext } from './docker-util.js'
import type { ImageProgress } from './types.js'
import type Docker from 'dockerode'

interface PullMessage {
  status?: string
  error?: string
  errorDetail?: { message?: string }
  progressDetail?: { current?: number, total?: number }
}

export interface EnsureImageOptions {
  /** the image id the service is pinned to: the engine must have exactly it; a pull by name must bring it */
  digest?: string
  signal?: AbortSignal
  onProgress?: (p: ImageProgress) => void
  pullTimeoutMs: number
}

/**
 * The image is on the engine: pulls it when missing (within `pullTimeoutMs`);
 * ImageNotFoundError when no registry has it. Answers the reference to
 * create the container with: the name, or, for a pinned image whose name
 * means other bytes on this engine, its id
 */
export async function ensureImage (docker: Docker, ctx: CallContext, image: string, options: EnsureImageOptions): Promise<string> {
  const want = options.digest ?? image
  if (await imageId(docker, ctx, want, options.signal) === undefined) {
    try {
      await pullImage(docker, ctx, image, options)
    } catch (err) {
      if (options.digest !== undefined && err instanceof ImageNotFoundError) throw new ImageNotFoundError(`${image} (${options.digest.slice(0, 19)})`, `no node of the mesh gave it, and ${err.reason}`)
      throw err
    }
    if (await imageId(docker, ctx, want, options.signal) === undefined) {
      if (options.digest !== undefined) throw new ImageNotFoundError(`${image} (${options.digest.slice(0, 19)})`, `the registry's ${image} is another image now; push the pinned one into the mesh (minga image push) or deploy again to pin the registry's`)
      throw new ImageNotFoundError(image, 'the pull finished but the engine does not have it')
    }
  }
  // `docker ps` shows the name when it names the pinned bytes here
  if (options.digest === undefined || await imageId(docker, ctx, image, options.signal) === options.digest) return image
  return options.digest
}

/** the image's id on the engine, or undefined when it has none of that name or id */
async function imageId (docker: Docker, ctx: CallContext, image: string, signal?: AbortSignal): Promise<string | undefined> {
  try {
    const path = `/images/${image}/json`
    const info = await engineCall(ctx, async s => await dial<{ Id: string }>(docker, { path, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } }, s), { signal })
    return info.Id
  } catch (err) {
    if (statusCode(err) === 404) return undefined
    throw err
  }
}

/** pulls `image` from its registry within `pullTimeoutMs`, with progress; ImageNotFoundError when no registry serves it */
export async function pullImage (docker: Docker, ctx: CallContext, image: string, options: EnsureImageOptions): Promise<void> {
  const linked = linkSignals([options.signal, ctx.closing], options.pullTimeoutMs)
  let stream: (NodeJS.ReadableStream & { destroy?: () => void }) | undefined
  try {
    stream = await docker.pull(image, { abortSignal: linked.signal }) as NodeJS.ReadableStream
    for await (const value of jsonLines(stream as AsyncIterable<Uint8Array>)) {
      const message = value as PullMessage
      const error = message.errorDetail?.message ?? message.error
      if (error !== undefined) throw new ImageNotFoundError(image, error)
      options.onProgress?.({
        image,
        status: message.status ?? '',
        ...(message.progressDetail?.current === undefined ? {} : { current: message.progressDetail.current }),
        ...(message.progressDetail?.total === undefined ? {} : { total: message.progressDetail.total })
      })
    }
  } catch (err) {
    if (err instanceof ImageNotFoundError) throw err
    if (linked.timedOut) throw new ImageNotFoundError(image, `the pull did not finish within ${options.pullTimeoutMs} ms`)
    const mapped = engineError(err, ctx, options.signal)
    if (mapped !== err) throw mapped
    throw new ImageNotFoundError(image, dockerMessage(err))
  } finally {
    linked.dispose()
    stream?.destroy?.()
  }
}

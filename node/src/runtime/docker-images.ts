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
  signal?: AbortSignal
  onProgress?: (p: ImageProgress) => void
  pullTimeoutMs: number
}

/** the image is on the engine: pulls it when missing (within `pullTimeoutMs`); ImageNotFoundError when no registry has it */
export async function ensureImage (docker: Docker, ctx: CallContext, image: string, options: EnsureImageOptions): Promise<void> {
  if (await hasImage(docker, ctx, image, options.signal)) return
  await pull(docker, ctx, image, options)
  if (!await hasImage(docker, ctx, image, options.signal)) {
    throw new ImageNotFoundError(image, 'the pull finished but the engine does not have it')
  }
}

async function hasImage (docker: Docker, ctx: CallContext, image: string, signal?: AbortSignal): Promise<boolean> {
  try {
    const path = `/images/${image}/json`
    await engineCall(ctx, async s => await dial(docker, { path, statusCodes: { 200: true, 404: 'no such image', 500: 'server error' } }, s), { signal })
    return true
  } catch (err) {
    if (statusCode(err) === 404) return false
    throw err
  }
}

async function pull (docker: Docker, ctx: CallContext, image: string, options: EnsureImageOptions): Promise<void> {
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

/**
 * A command run inside a running container (`docker exec`), as backup hooks
 * need: a database dump into the volume before a snapshot. Its output is
 * kept to the last `maxOutput` characters (stdout and stderr interleaved),
 * and a command that outlives `timeoutMs` is reported as timed out (its
 * process may go on inside the container: Docker has no exec kill).
 */
import type Docker from 'dockerode'
import { demuxFrames } from './docker-streams.js'

export interface ExecResult {
  /** the command's exit code; -1 when it timed out */
  exitCode: number
  /** its last output, stdout and stderr together */
  output: string
}

export interface ExecOptions {
  timeoutMs: number
  maxOutput?: number
  signal?: AbortSignal
}

const DEFAULT_MAX_OUTPUT = 4000

export async function execIn (docker: Docker, containerId: string, cmd: string[], options: ExecOptions): Promise<ExecResult> {
  const max = options.maxOutput ?? DEFAULT_MAX_OUTPUT
  const exec = await docker.getContainer(containerId).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true })
  const stream = await exec.start({ hijack: true, stdin: false }) as NodeJS.ReadableStream & { destroy: () => void }
  let output = ''
  const read = (async () => {
    for await (const frame of demuxFrames(stream as AsyncIterable<Uint8Array>)) {
      output = (output + frame.text).slice(-max)
    }
  })()
  let timer: NodeJS.Timeout | undefined
  const timedOut = new Promise<'timeout'>(resolve => { timer = setTimeout(() => resolve('timeout'), options.timeoutMs) })
  const aborted = new Promise<'timeout'>(resolve => options.signal?.addEventListener('abort', () => resolve('timeout'), { once: true }))
  try {
    if (await Promise.race([read.then(() => 'done' as const), timedOut, aborted]) === 'timeout') {
      stream.destroy()
      return { exitCode: -1, output: `${output}\n(timed out after ${options.timeoutMs} ms)`.trim() }
    }
  } finally {
    clearTimeout(timer)
  }
  const info = await exec.inspect()
  return { exitCode: info.ExitCode ?? -1, output: output.trim() }
}

/**
 * The `git` command, run as a child process with a time limit, bounded
 * output, no terminal prompts and no configuration of the host's user
 * (HOME points at an empty folder), so a poll never hangs on a password
 * question and never reads someone's ~/.gitconfig. Errors are
 * SourceFetchError with git's own last lines.
 */
import { spawn } from 'node:child_process'
import { SourceFetchError } from '../errors.js'

export interface GitOptions {
  /** the git program (default `git` on PATH) */
  git?: string
  /** HOME and XDG_CONFIG_HOME for git: a folder of minga's own */
  home: string
  /** ms one command may take (default 2 minutes) */
  timeoutMs?: number
}

/** bytes of stdout kept (rev-parse, verify-commit answer in a line) */
const MAX_OUTPUT = 1024 * 1024
const MAX_ERROR = 4096

/** run git with `args` in `cwd`; resolves with its stdout, or throws SourceFetchError (exit code, signal, timeout, missing git) */
export async function runGit (args: string[], options: GitOptions & { cwd?: string, signal?: AbortSignal, stdout?: NodeJS.WritableStream }): Promise<string> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: options.home,
    XDG_CONFIG_HOME: options.home,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_SSH_COMMAND: 'ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new',
    LC_ALL: 'C'
  }
  return await new Promise<string>((resolve, reject) => {
    const child = spawn(options.git ?? 'git', args, { cwd: options.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    const timer = setTimeout(() => { child.kill('SIGKILL'); fail(`took longer than ${Math.round((options.timeoutMs ?? 120_000) / 1000)}s`) }, options.timeoutMs ?? 120_000)
    const onAbort = (): void => { child.kill('SIGKILL'); fail('stopped') }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    let done = false
    const finish = (): void => { done = true; clearTimeout(timer); options.signal?.removeEventListener('abort', onAbort) }
    const fail = (why: string): void => {
      if (done) return
      finish()
      reject(new SourceFetchError(`git ${args[0]} ${why}${err.trim() === '' ? '' : `: ${err.trim().split('\n').slice(-3).join(' / ')}`}`))
    }
    if (options.stdout !== undefined) child.stdout.pipe(options.stdout)
    else child.stdout.on('data', (chunk: Buffer) => { if (out.length < MAX_OUTPUT) out += chunk.toString('utf8') })
    child.stderr.on('data', (chunk: Buffer) => { err = (err + chunk.toString('utf8')).slice(-MAX_ERROR) })
    child.on('error', (e: NodeJS.ErrnoException) => { fail(e.code === 'ENOENT' ? 'cannot run: git is not installed on this node (apt-get install git)' : `cannot run: ${e.message}`) })
    child.on('close', (code, signal) => {
      if (code === 0) { if (!done) { finish(); resolve(out) } return }
      fail(signal !== null ? `killed by ${signal}` : `exited with code ${String(code)}`)
    })
  })
}

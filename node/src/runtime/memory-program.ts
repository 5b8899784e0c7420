/**
 * What a container of the memory runtime "runs": a tiny model of `sh`, so
 * the same specs drive the memory runtime and Docker in the conformance
 * suite and the simulator.
 *
 * A command `['sh', '-c', script]` (or `/bin/sh`) runs the script's
 * statements, separated by `;`, `&&` or newlines:
 *   - `echo words…` prints a line on stdout, or on stderr with `>&2` / `1>&2`
 *   - `sleep N` waits N seconds (fractions allowed) in the runtime's time
 *   - `exit N` ends the container with exit code N
 *   - `true` / `:` and `false` set the status the script ends with
 *   - `cat FILE` prints a file written into the container (configs,
 *     secret files), line by line; a missing one fails as busybox's does
 *   - `id -u` / `id -g` print the numeric user and group the container runs as
 *   - anything else is a server: the container runs until it is stopped
 * Any other command is one such statement (`['sleep', '5']`), and no
 * command (the image's own entrypoint) is a server. A script that runs out
 * of statements exits with the status of its last one, as `sh` does.
 */

export type Step =
  | { op: 'echo', text: string, stream: 'stdout' | 'stderr' }
  | { op: 'sleep', ms: number }
  | { op: 'status', code: number }
  | { op: 'exit', code: number }
  | { op: 'serve' }
  | { op: 'cat', path: string }
  | { op: 'id', which: 'u' | 'g' }

const SHELLS = new Set(['sh', '/bin/sh', 'bash', '/bin/bash'])

/**
 * The program a container runs: the entrypoint and then the command, as
 * Docker joins them (a given entrypoint drops the image's command; the
 * test image has no entrypoint of its own)
 */
export function programOf (spec: { entrypoint?: string[], command?: string[] }): string[] | undefined {
  if (spec.entrypoint === undefined || spec.entrypoint.length === 0) return spec.command
  return [...spec.entrypoint, ...(spec.command ?? [])]
}

/** the steps a container runs for its command: `serve` when empty, a script for `sh -c`, else one statement */
export function parseProgram (command: string[] | undefined): Step[] {
  if (command === undefined || command.length === 0) return [{ op: 'serve' }]
  if (SHELLS.has(command[0]) && command[1] === '-c') return parseScript(command[2] ?? '')
  return parseStatement(command)
}

/**
 * the steps of a shell script the modelled engine understands (echo, sleep, exit, …), split at `;`, `&&`, `||` and newlines
 */
export function parseScript (script: string): Step[] {
  return script
    .split(/\n|;|&&|\|\|/)
    .map(words)
    .flatMap(parseStatement)
}

/**
 * A health check command as the memory runtime runs it, with the exit code
 * and output Docker would record: `['false']` and scripts that end with a
 * non-zero status fail, everything else passes; `echo` lines are the output
 */
export function healthProbe (cmd: string[]): { exitCode: number, output: string } {
  let status = 0
  const output: string[] = []
  for (const step of parseProgram(cmd)) {
    if (step.op === 'exit') return { exitCode: step.code, output: output.join('\n') }
    if (step.op === 'status') status = step.code
    if (step.op === 'echo') { status = 0; output.push(step.text) }
  }
  return { exitCode: status, output: output.join('\n') }
}

function parseStatement (argv: string[]): Step[] {
  const redirected = argv.some(w => w === '>&2' || w === '1>&2')
  const args = argv.filter(w => !/^[12]?>/.test(w))
  const [name, ...rest] = args
  switch (name) {
    case undefined: return []
    case 'echo': return [{ op: 'echo', text: rest.filter(w => w !== '-n').join(' '), stream: redirected ? 'stderr' : 'stdout' }]
    case 'sleep': {
      const seconds = Number(rest[0])
      return Number.isFinite(seconds) && seconds >= 0 ? [{ op: 'sleep', ms: seconds * 1000 }] : [{ op: 'serve' }]
    }
    case 'exit': return [{ op: 'exit', code: toCode(rest[0]) }]
    case 'true': case ':': return [{ op: 'status', code: 0 }]
    case 'cat': return rest.length === 1 ? [{ op: 'cat', path: rest[0] }] : [{ op: 'serve' }]
    case 'id': return rest[0] === '-u' || rest[0] === '-g' ? [{ op: 'id', which: rest[0] === '-u' ? 'u' : 'g' }] : [{ op: 'serve' }]
    case 'false': return [{ op: 'status', code: 1 }]
    default: return [{ op: 'serve' }]
  }
}

function toCode (word: string | undefined): number {
  const code = Number(word ?? 0)
  return Number.isInteger(code) ? code & 0xff : 2
}

/** split a statement into words, honouring single and double quotes */
function words (statement: string): string[] {
  const out: string[] = []
  const pattern = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g
  for (const match of statement.matchAll(pattern)) {
    out.push(match[1] ?? match[2]?.replace(/\\(.)/g, '$1') ?? match[3])
  }
  return out
}

import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { apiClient, type ApiClient } from './client.js'

export interface Context {
  dataDir: string
  api: ApiClient
  out: (text: string) => void
  json: (value: unknown) => void
}

/** the data dir: --data, else MINGA_DATA, else ~/.minga (as the node resolves it) */
function defaultDataDir (): string {
  return resolve(process.env.MINGA_DATA ?? join(homedir(), '.minga'))
}

/** what a verb needs: the data dir (--data, MINGA_DATA, ~/.minga), the control-API client on its socket, and output */
export function context (options: { data?: string }): Context {
  const dataDir = options.data === undefined ? defaultDataDir() : resolve(options.data)
  return {
    dataDir,
    api: apiClient(join(dataDir, 'api.sock')),
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : text + '\n'),
    json: (value) => process.stdout.write(JSON.stringify(value, null, 2) + '\n')
  }
}

/** `k=v` pairs from repeated options */
export function keyValues (pairs: string[] = [], what = 'label'): Record<string, string> {
  const out: Record<string, string> = {}
  for (const pair of pairs) {
    const at = pair.indexOf('=')
    if (at <= 0) throw new Error(`--${what} takes KEY=VALUE, not "${pair}"`)
    out[pair.slice(0, at)] = pair.slice(at + 1)
  }
  return out
}

export const collect = (value: string, previous: string[] = []): string[] => [...previous, value]

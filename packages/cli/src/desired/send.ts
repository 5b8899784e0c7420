/**
 * A change set from the CLI to the node: checked and planned by the node
 * first (a dry run that counts the config content as sent), then, unless
 * only the plan was asked for, the config content is stored and the set
 * applied — the node checks it again and writes it in one batch.
 */
import { createHash } from 'node:crypto'
import type { ApplyResult } from '@minga/node/api'
import type { ServiceSpec } from '@minga/protocol'
import type { Context } from '../context.js'
import { sendConfigs } from '../deploy.js'

export interface Declared {
  specs: ServiceSpec[]
  secrets: Array<{ service: string, name: string, value: Buffer }>
  configs: Array<{ service: string, chunks: Buffer[] }>
}

export interface SendOptions {
  prune: boolean
  dryRun: boolean
  source?: { name: string, commit: string }
}

/** the node's plan, and, without dryRun, the set applied (see above) */
export async function sendChangeSet (ctx: Context, declared: Declared, options: SendOptions): Promise<ApplyResult> {
  const body = {
    specs: declared.specs,
    secrets: declared.secrets.map(s => ({ service: s.service, name: s.name, value: s.value.toString('base64') })),
    prune: options.prune,
    ...(options.source === undefined ? {} : { source: options.source })
  }
  const provided = [...new Set(declared.configs.flatMap(c => c.chunks.map(chunk => createHash('sha256').update(chunk).digest('hex'))))]
  const plan = await ctx.api.post('/v1/apply', { ...body, dryRun: true, provided })
  if (options.dryRun) return plan
  await sendConfigs(ctx, declared.configs)
  return await ctx.api.post('/v1/apply', body)
}

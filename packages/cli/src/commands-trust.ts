/** trust verbs: node rm, org rm / approve / proposals, audit, secret set / ls / rm */
import { readFile, stat, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { Tally } from '@minga/protocol'
import { context, type Context } from './context.js'
import { CliError, EXIT } from './errors.js'
import { shortId, table } from './format.js'

/** a secret is at most 8 KiB (protocol's SECRET_LIMITS); refuse bigger input before sending it */
const MAX_SECRET_BYTES = 8 * 1024

/** the trust verbs on `program`: node rm, org rm/approve/proposals, audit, secret set/ls/rm */
export function trustCommands (program: Command): void {
  const node = program.command('node').description('act on one node of the mesh')
  node.command('rm')
    .description('remove a node of your organization for good: every node refuses it from now on, its open invites stop working')
    .argument('<node>', 'peer id, or a unique part of it (as "minga nodes" shows)')
    .option('--reason <text>', 'why, for the audit trail', 'removed by an operator')
    .addHelpText('after', '\nExample:\n  minga node rm 3xKq9fZa --reason "disk failed, server retired"')
    .action(async (ref, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const r = await ctx.api.post('/v1/nodes/remove', { node: ref, reason: options.reason })
      ctx.out(`${shortId(r.node)} (${r.org}): removed; its entries up to #${r.lastSeq} stand, ${r.invitesRevoked} open invite(s) revoked`)
    })

  const org = program.command('org').description('govern the organizations of the mesh')
  org.command('rm')
    .description('propose to remove an organization; it takes effect when a strict majority of the other organizations approve')
    .argument('<name>', 'the organization to remove')
    .requiredOption('--reason <text>', 'why, for the other organizations and the audit trail')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga org rm riverside --reason "left the cooperative"\n  # on a node of each other organization:\n  minga org approve 5f1c')
    .action(async (name, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const t = await ctx.api.post('/v1/orgs/remove', { org: name, reason: options.reason })
      if (options.json === true) return ctx.json(t)
      ctx.out(`proposal ${t.id} to remove ${name}: ${describe(t)}`)
      if (t.passed !== true) ctx.out(`Each other organization approves with: minga org approve ${t.id.slice(0, 8)}`)
    })
  org.command('recovery-key')
    .description('give your organization a recovery key, if it has none: with it, a new server brings the org back if it loses every node')
    .option('--file <path>', 'write the key to this file (mode 0600) instead of printing it')
    .addHelpText('after', '\nExample:\n  minga org recovery-key --file acme-recovery.key   # then keep the file offline')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const { org, key } = await ctx.api.post('/v1/recovery-key', {})
      if (options.file !== undefined) {
        await writeFile(String(options.file), key + '\n', { mode: 0o600, flag: 'wx' })
        ctx.out(`The recovery key of ${org} is in ${String(options.file)}; keep it offline, away from the mesh's servers`)
      } else {
        ctx.out(`Recovery key of ${org} (shown once; keep it offline):\n${key}`)
      }
    })
  org.command('approve')
    .description('approve a proposal on behalf of this node\'s organization (one vote per organization)')
    .argument('<id>', 'the proposal id, or a unique prefix of it')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga org approve 5f1c')
    .action(async (id, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const t = await ctx.api.post(`/v1/proposals/${encodeURIComponent(id)}/approve`, {})
      if (options.json === true) return ctx.json(t)
      ctx.out(`proposal ${t.id} to remove ${t.proposal.org}: ${describe(t)}`)
    })
  org.command('proposals')
    .description('list the proposals and their votes')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga org proposals')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const list = await ctx.api.get('/v1/proposals')
      if (options.json === true) return ctx.json(list)
      ctx.out(table(['ID', 'REMOVE', 'OPENED', 'APPROVED BY', 'STATUS', 'REASON'], list.map((t) => [
        t.id.slice(0, 12), t.proposal.org, t.opened, t.approvals.join(',') || '-', describe(t), t.proposal.reason
      ])))
    })

  program.command('audit')
    .description('every governance entry (members, invites, removals, cordons, proposals, votes, secrets), with its signer and whether the signature verifies')
    .option('--kind <list>', 'only these kinds, e.g. revoked,proposal,vote')
    .option('--limit <n>', 'only the last n')
    .option('--json', 'machine-readable output, with the full signatures')
    .addHelpText('after', '\nExamples:\n  minga audit\n  minga audit --kind revoked,proposal,vote --json')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const query = new URLSearchParams()
      if (options.kind !== undefined) query.set('kind', options.kind)
      if (options.limit !== undefined) query.set('limit', options.limit)
      const records = await ctx.api.get(`/v1/audit${query.size > 0 ? `?${query.toString()}` : ''}`)
      if (options.json === true) return ctx.json(records)
      ctx.out(table(['TIME', 'KIND', 'BY', 'ORG', 'SIG', 'WHAT'], records.map((r) => [
        r.time.replace('T', ' ').slice(0, 19), r.kind, `${shortId(r.author)}#${r.seq}`, r.authorOrg, r.verified === true ? 'ok' : 'BAD', r.summary
      ])))
      const bad = records.filter((r) => r.verified !== true).length
      if (bad > 0) {
        process.stderr.write(`${bad} entr${bad === 1 ? 'y does' : 'ies do'} not verify\n`)
        process.exitCode = EXIT.failure
      }
    })

  const secret = program.command('secret').description('secrets of services: sealed to the nodes that may run them, given to containers as environment variables (or files, where the spec\'s secretFiles say)')
  secret.command('set')
    .description('set a secret of a service (from stdin, --file or --value); its value is never shown again')
    .argument('<service>', 'NAME or ORG/NAME')
    .argument('<key>', 'the environment variable the containers get, e.g. DB_PASSWORD')
    .option('--value <text>', 'the value (visible in your shell history: prefer stdin or --file)')
    .option('--file <path>', 'read the value from a file, as is')
    .addHelpText('after', '\nExamples:\n  printf %s "$PASSWORD" | minga secret set web DB_PASSWORD\n  minga secret set web TLS_KEY --file key.pem\n\nFrom stdin, one trailing newline is dropped.')
    .action(async (service, key, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if (options.value !== undefined && options.file !== undefined) throw new CliError('Use --value or --file, not both', EXIT.usage)
      const value = await secretValue(options)
      const r = await ctx.api.post('/v1/secrets', { service, name: key, value: value.toString('base64'), encoding: 'base64' })
      ctx.out(`${r.service}: secret ${r.name} set, sealed to ${r.readers} node(s)`)
    })
  secret.command('ls')
    .description('list secrets (names and readers, never values)')
    .argument('[service]', 'NAME or ORG/NAME (default: all)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga secret ls web')
    .action(async (service, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const list = await ctx.api.get(`/v1/secrets${service === undefined ? '' : `?service=${encodeURIComponent(service)}`}`)
      if (options.json === true) return ctx.json(list)
      ctx.out(table(['SERVICE', 'KEY', 'READERS', 'HERE', 'UPDATED'], list.map((s) => [
        s.service, s.name, `${s.readers}${s.current === true ? '' : ' (resealing)'}`, s.readable === true ? 'yes' : 'no', s.updated.replace('T', ' ').slice(0, 19)
      ])))
    })
  secret.command('rm')
    .description('remove a secret of a service')
    .argument('<service>', 'NAME or ORG/NAME')
    .argument('<key>', 'the secret\'s name')
    .addHelpText('after', '\nExample:\n  minga secret rm web DB_PASSWORD')
    .action(async (service, key, _options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const [o, name] = await serviceOf(ctx, service)
      const r = await ctx.api.delete(`/v1/secrets/${encodeURIComponent(o)}/${encodeURIComponent(name)}/${encodeURIComponent(key)}`)
      ctx.out(`${r.removed}: removed`)
    })
}

function describe (t: Tally): string {
  return t.passed === true ? `PASSED (${t.approvals.length} of ${t.proposal.electorate.length} organizations approved)` : `open, ${t.approvals.length} of ${t.needed} needed approvals (electorate: ${t.proposal.electorate.join(', ')})`
}

async function secretValue (options: { value?: string, file?: string }): Promise<Buffer> {
  let value: Buffer
  if (options.value !== undefined) {
    value = Buffer.from(options.value, 'utf8')
  } else if (options.file !== undefined) {
    const info = await stat(options.file).catch(() => undefined)
    if (info === undefined || !info.isFile()) throw new CliError(`No file ${options.file}`, EXIT.usage)
    if (info.size > MAX_SECRET_BYTES) throw new CliError(`${options.file} is ${info.size} bytes; a secret is at most ${MAX_SECRET_BYTES}`, EXIT.usage)
    value = await readFile(options.file)
  } else {
    if (process.stdin.isTTY === true) process.stderr.write('Type the value, then Ctrl-D:\n')
    const chunks: Buffer[] = []
    let size = 0
    for await (const chunk of process.stdin) {
      size += (chunk as Buffer).length
      if (size > MAX_SECRET_BYTES) throw new CliError(`The value is more than ${MAX_SECRET_BYTES} bytes, the limit of a secret`, EXIT.usage)
      chunks.push(chunk as Buffer)
    }
    value = Buffer.concat(chunks)
    if (value.at(-1) === 0x0a) value = value.subarray(0, value.at(-2) === 0x0d ? -2 : -1)
  }
  if (value.length === 0) throw new CliError('The secret is empty; give a value on stdin, with --file or with --value', EXIT.usage)
  return value
}

async function serviceOf (ctx: Context, service: string): Promise<[string, string]> {
  const parts = service.split('/')
  if (parts.length === 2) return [parts[0], parts[1]]
  if (parts.length !== 1) throw new CliError(`"${service}" is not a service name; use NAME or ORG/NAME`, EXIT.usage)
  const status = await ctx.api.get('/v1/status')
  return [status.org, parts[0]]
}

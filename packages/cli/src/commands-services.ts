/** service verbs: deploy, ls, ps, rm, scale, drain, uncordon */
import type { Command } from 'commander'
import { collect, context, type Context } from './context.js'
import { carryOut, describePlan, dryRunOrg, orphans, planDeploy } from './deploy.js'
import { durationFlag } from './duration.js'
import { CliError, EXIT } from './errors.js'
import { shortId, table } from './format.js'

/** the services' verbs on `program`: deploy, ls, ps, rm, scale, drain, uncordon */
export function serviceCommands (program: Command): void {
  program.command('deploy')
    .description('declare services from a minga spec file or a Docker Compose file (YAML)')
    .requiredOption('-f, --file <path>', 'the spec file')
    .option('--compose', 'read the file as Docker Compose (default for compose*.yml / docker-compose*.yml, and files that read as Compose)')
    .option('-p, --project <name>', 'Compose project name (default: COMPOSE_PROJECT_NAME, the file\'s name:, or its folder\'s name)')
    .option('--env-file <path>', 'variables for a Compose file (repeatable; default: .env beside it)', collect)
    .option('--dry-run', 'translate and check the file, print what would be declared; needs no running node')
    .option('--org <name>', 'with --dry-run: the organization to show (default: this data dir\'s)')
    .option('--wait', 'wait until every replica runs healthy with this spec, and each pinned image is whole on at least two nodes (or every node, when fewer)')
    .option('--timeout <duration>', 'how long --wait waits', '2m')
    .option('--waive <id>', 'accept this finding of the scan gate in the images deployed (repeatable; a signed waiver, shown by minga audit)', collect)
    .option('--reason <text>', 'why the findings are waived (kept with each waiver)')
    .option('--unpinned', 'do not pin images by digest: each node runs what the name means on its engine or registry')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nEach image is pinned by digest: the org\'s tag in the mesh, else this node\'s engine (pushed into the mesh), else a registry.\n\nExamples:\n  minga deploy -f web.yaml --wait\n  minga deploy -f web.yaml --waive CVE-2024-6387 --reason "sshd not in use"\n  minga deploy -f docker-compose.yml -p shop\n  minga deploy -f stack.yml --env-file prod.env --dry-run')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const timeout = await durationFlag(options.timeout, '--timeout', 'wait')
      if (options.dryRun === true) {
        const { org, known } = await dryRunOrg(ctx.dataDir, options.org)
        const plan = await planDeploy(options, async () => org)
        for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`)
        if (!known) process.stderr.write(`note: no organization known here (no --org, no mesh in ${ctx.dataDir}); shown as ${org}\n`)
        ctx.out(describePlan(plan, options.json === true))
        return
      }
      if (options.org !== undefined) throw new CliError('--org applies to --dry-run; a deploy declares services of the node\'s own organization', EXIT.usage)
      const plan = await planDeploy(options, async () => (await ctx.api.get('/v1/status')).org)
      for (const warning of plan.warnings) process.stderr.write(`warning: ${warning}\n`)
      const images = { ...(options.waive === undefined ? {} : { waive: options.waive as string[] }), ...(options.reason === undefined ? {} : { reason: options.reason as string }), ...(options.unpinned === true ? { unpinned: true } : {}) }
      const results = await carryOut(ctx, plan, options.file, images, options.json === true)
      for (const id of await orphans(ctx, plan)) process.stderr.write(`warning: ${id} belongs to project ${plan.project ?? ''} but ${options.file} no longer declares it; remove it with "minga rm ${id}"\n`)
      if (options.json !== true) for (const r of results) ctx.out(`${r.service}: ${r.status}${r.image?.digest === undefined ? '' : ` (${r.image.image} pinned to ${r.image.digest.slice(0, 19)}; ${r.image.scan})`}`)
      if (options.wait === true) {
        await waitUntil(ctx, timeout, async () => await servicesSettled(ctx, results.map((r) => r.service)))
        // a node lost right after must not take the only whole copy of a new image with it
        const digests = [...new Set(results.flatMap(r => r.image?.digest === undefined ? [] : [r.image.digest]))]
        await waitUntil(ctx, timeout, async () => await imagesCopied(ctx, digests))
      }
      if (options.json === true) ctx.json(results)
    })

  program.command('ls')
    .description('list the services of the mesh')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga ls')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const services = await ctx.api.get('/v1/services')
      if (options.json === true) return ctx.json(services)
      // HEALTHY counts replicas served by any spec (a rolling update serves with old and new); UP-TO-DATE those on the current one
      ctx.out(table(['SERVICE', 'PROJECT', 'IMAGE', 'HEALTHY', 'UP-TO-DATE', 'RUNNING', 'SPREAD', 'SOURCE'], services.map((s) => [
        s.id, s.project ?? '-', s.image, `${s.healthy}/${s.replicas}`, `${s.updated ?? s.healthy}/${s.replicas}`, String(s.running), s.singleton === true ? 'singleton' : s.spread,
        s.source === undefined ? '-' : `${s.source.name}@${s.source.commit.slice(0, 12)}`
      ])))
    })

  program.command('ps')
    .description('show where each replica is placed and how it runs')
    .argument('[service]', 'NAME or ORG/NAME (default: all)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga ps\n  minga ps web')
    .action(async (service, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const rows = await ctx.api.get(`/v1/ps${service === undefined ? '' : `?service=${encodeURIComponent(service)}`}`)
      if (options.json === true) return ctx.json(rows)
      ctx.out(table(['SERVICE', 'REPLICA', 'ASSIGNED', 'RUNNING ON', 'STATE', 'NOTE'], rows.map((r) => [
        r.service,
        String(r.replica),
        shortId(r.assigned),
        r.running.map((c) => shortId(c.node)).join(',') || '-',
        r.running.map((c) => `${c.state}${c.healthy === true ? '' : '(unhealthy)'}${c.current === true ? '' : '(old spec)'}`).join(',') || 'missing',
        r.problem ?? ''
      ])))
    })

  program.command('rm')
    .description('remove a service, or every service of a Compose project; their replicas stop everywhere')
    .argument('[service]', 'NAME or ORG/NAME')
    .option('-p, --project <name>', 'remove every service of this Compose project')
    .option('--volumes', 'also remove its volumes on every node, and their backups (otherwise they stay for a service deployed again under the name)')
    .addHelpText('after', '\nExamples:\n  minga rm web\n  minga rm -p nextcloud\n  minga rm db --volumes')
    .action(async (service, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if ((service === undefined) === (options.project === undefined)) throw new CliError('Name a service (minga rm web) or a project (minga rm -p nextcloud), not both', EXIT.usage)
      if (options.project !== undefined) {
        const result = await ctx.api.delete(`/v1/projects/${encodeURIComponent(options.project)}${options.volumes === true ? '?volumes=1' : ''}`)
        for (const id of result.removed) ctx.out(`${id}: removed${options.volumes === true ? ', with its volumes and their backups' : ''}`)
        return
      }
      const [org, name] = await resolve(ctx, service)
      const result = await ctx.api.delete(`/v1/services/${org}/${name}${options.volumes === true ? '?volumes=1' : ''}`)
      ctx.out(`${result.removed}: removed${result.volumes === true ? ', with its volumes and their backups' : ' (its volumes and backups stay; minga rm --volumes removes them)'}`)
    })

  program.command('scale')
    .description('set the number of replicas of a service')
    .argument('<assignment>', 'SERVICE=N')
    .addHelpText('after', '\nExample:\n  minga scale web=5')
    .action(async (assignment, _options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const match = /^([^=]+)=(\d+)$/.exec(assignment)
      if (match === null) throw new CliError(`Write SERVICE=N, e.g. minga scale web=3 (got "${assignment}")`, EXIT.usage)
      await ctx.api.post('/v1/scale', { service: match[1], replicas: Number(match[2]) })
      ctx.out(`${match[1]}: scaled to ${match[2]}`)
    })

  program.command('drain')
    .description('cordon a node and move its replicas away (make before break), e.g. to patch it')
    .argument('<node>', 'peer id, or its last characters as "minga nodes" shows them')
    .option('--reason <text>', 'why, for the audit trail', 'drained for maintenance')
    .option('--no-wait', 'return once cordoned, without waiting for the replicas to move')
    .option('--timeout <duration>', 'how long to wait', '5m')
    .addHelpText('after', '\nExample:\n  minga drain 3xk9TqPz\n  # patch and reboot the host, then:\n  minga uncordon 3xk9TqPz')
    .action(async (node, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const timeout = await durationFlag(options.timeout, '--timeout', 'wait')
      const { node: peer } = await ctx.api.post('/v1/cordon', { node, reason: options.reason })
      ctx.out(`${shortId(peer)}: cordoned`)
      if (options.wait === false) return
      await waitUntil(ctx, timeout, async () => {
        const nodes = await ctx.api.get('/v1/nodes')
        const held = nodes.find((n) => n.id === peer)?.replicas ?? 0
        return held === 0 ? undefined : `${held} replica(s) still on ${shortId(peer)}`
      })
      ctx.out(`${shortId(peer)}: drained`)
    })

  program.command('uncordon')
    .description('let the scheduler place replicas on a node again')
    .argument('<node>', 'peer id, or its last characters')
    .addHelpText('after', '\nExample:\n  minga uncordon 3xk9TqPz')
    .action(async (node, _options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const { node: peer } = await ctx.api.post('/v1/uncordon', { node })
      ctx.out(`${shortId(peer)}: uncordoned`)
    })
}

/** ORG/NAME as given, or the node's pick for a bare NAME: this org's service of that name, else the one in any org */
async function resolve (ctx: Context, service: string): Promise<[string, string]> {
  if (service.includes('/')) return service.split('/', 2) as [string, string]
  const { spec } = await ctx.api.get(`/v1/services/${encodeURIComponent(service)}`)
  return [spec.org, spec.name]
}

/** undefined when every replica of these services runs healthy on its assigned node with the current spec */
async function servicesSettled (ctx: Context, services: string[]): Promise<string | undefined> {
  for (const service of services) {
    const rows = await ctx.api.get(`/v1/ps?service=${encodeURIComponent(service)}`)
    for (const r of rows) {
      if (r.assigned === null) return `${service}#${r.replica} cannot be placed: ${r.problem ?? 'no fitting node'}`
      const ready = r.running.some((c) => c.node === r.assigned && c.healthy === true && c.current === true)
      if (!ready) return `${service}#${r.replica} not yet healthy on ${shortId(r.assigned)}${r.problem !== undefined ? ` (${r.problem})` : ''}`
    }
  }
  return undefined
}

/** why the images are not yet safe from the loss of one node: a whole copy on fewer than 2 nodes (or than every node that may hold it) */
async function imagesCopied (ctx: Context, digests: string[]): Promise<string | undefined> {
  for (const digest of digests) {
    const { holders, eligible } = await ctx.api.get(`/v1/images/holders?digest=${digest}`)
    const wanted = Math.min(2, eligible)
    if (holders.length < wanted) return `image ${digest.slice(0, 19)} is whole on ${holders.length} node(s) of the ${wanted} wanted before a node may be lost`
  }
  return undefined
}

async function waitUntil (ctx: Context, timeoutMs: number, check: () => Promise<string | undefined>): Promise<void> {
  const deadline = Date.now() + timeoutMs
  let last: string | undefined
  while (Date.now() < deadline) {
    last = await check()
    if (last === undefined) return
    await new Promise(resolve => setTimeout(resolve, 300))
  }
  throw new CliError(`Gave up waiting after ${Math.round(timeoutMs / 1000)} s: ${last ?? 'not settled'}`, EXIT.timeout)
}

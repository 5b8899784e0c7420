/** volume verbs: volumes, backup, backup ls, restore (rm --volumes is in commands-services.ts) */
import type { Command } from 'commander'
import { context } from './context.js'
import { durationFlag } from './duration.js'
import { age, bytes, shortId, table } from './format.js'

export function volumeCommands (program: Command): void {
  program.command('volumes')
    .description('every volume of your organization\'s services, on every node: size, last snapshot, lineage')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga volumes\n\nLINEAGE: current (at the latest snapshot), written (and written since), behind, ahead, diverged,\nno-snapshot, aside (a copy kept aside when it diverged: nothing is ever deleted by minga on its own)')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const { volumes, unreachable } = await ctx.api.get('/v1/volumes')
      if (options.json === true) return ctx.json({ volumes, unreachable })
      const now = Date.now()
      ctx.out(table(['SERVICE', 'VOLUME', 'NODE', 'SIZE', 'LINEAGE', 'GEN', 'LAST SNAPSHOT', 'NOTE'], volumes.map((v) => [
        v.service,
        v.volume,
        shortId(v.node),
        bytes(v.bytes),
        v.lineage,
        v.generation === undefined ? '-' : `${v.generation}${v.latest === undefined ? '' : `/${v.latest.generation}`}`,
        v.latest === undefined ? '-' : `${age(now - v.latest.time)} ago on ${shortId(v.latest.node)}`,
        v.aside === undefined ? '' : `${v.name}: ${v.aside.reason}`
      ])))
      for (const node of unreachable) process.stderr.write(`warning: ${shortId(node)} did not answer; its volumes are not listed\n`)
    })

  const backup = program.command('backup')
    .description('snapshot a service\'s volumes now, on the node that runs it (encrypted, onto other organizations\' nodes)')
    .argument('[service]', 'NAME or ORG/NAME')
    .option('--timeout <duration>', 'how long to wait for the snapshot', '1h')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga backup db\n  minga backup ls db')
    .action(async (service: string | undefined, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if (service === undefined) { cmd.help(); return }
      const timeoutMs = await durationFlag(options.timeout, '--timeout', 'wait')
      const result = await ctx.api.post('/v1/backup', { service }, { timeoutMs: timeoutMs + 5000 })
      if (options.json === true) return ctx.json(result)
      for (const s of result.snapshots) {
        ctx.out(`${result.service} ${s.volume}: snapshot ${s.snapshot.slice(0, 8)}, generation ${s.generation}, ${bytes(s.bytes)} in ${s.files} files (${bytes(s.bytesStored)} new, sent to holders) in ${age(s.tookMs)} on ${shortId(result.node)}`)
      }
    })
  backup.command('ls')
    .description('list the snapshots of a service\'s volumes')
    .argument('<service>', 'NAME or ORG/NAME')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga backup ls db')
    .action(async (service: string, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const listing = await ctx.api.get(`/v1/backups?service=${encodeURIComponent(service)}`)
      // `backup` has a --json of its own: commander gives it the flag when it follows `backup ls`
      if (options.json === true || cmd.optsWithGlobals().json === true) return ctx.json(listing)
      ctx.out(table(['SNAPSHOT', 'VOLUME', 'TIME', 'LATEST'], listing.snapshots.map((s) => [s.id.slice(0, 8), s.volume, s.time.replace(/\.\d+/, ''), s.latest ? `yes (generation ${listing.latest[s.volume]?.generation ?? '?'})` : ''])))
    })

  program.command('restore')
    .description('restore a service\'s volumes to a snapshot (the latest, or --snapshot ID): the node that runs it restarts it on the restored data, keeping the copy it had aside')
    .argument('<service>', 'NAME or ORG/NAME')
    .option('--snapshot <id>', 'the snapshot (its id or first characters, as "minga backup ls" shows them)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga restore db\n  minga restore db --snapshot 4f2a9c1e')
    .action(async (service: string, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const result = await ctx.api.post('/v1/restore', { service, ...(options.snapshot === undefined ? {} : { snapshot: String(options.snapshot).toLowerCase() }) })
      if (options.json === true) return ctx.json(result)
      for (const c of result.chosen) ctx.out(`${result.service} ${c.volume}: snapshot ${c.snapshot.slice(0, 8)} is generation ${c.generation}; the node running it restores it now ("minga ps ${service}" shows the progress)`)
    })
}

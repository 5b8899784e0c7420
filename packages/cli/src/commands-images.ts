/** image verbs: image push, image ls, image scan, scanner-db push, policy set, policy show */
import { resolve } from 'node:path'
import type { Command } from 'commander'
import { IMAGE_TIMEOUT } from './client.js'
import { context } from './context.js'
import { bytes, shortId, table } from './format.js'

/** the image verbs on `program` (see above) */
export function imageCommands (program: Command): void {
  const image = program.command('image').description('images carried by the mesh: no registry needed')

  image.command('push')
    .description('put an image of this node\'s Docker engine into the mesh: every node that must run it fetches it from the nodes that hold it')
    .argument('<image>', 'a name (acme/web:1) or an image id of the local engine')
    .option('--private', 'only nodes of this organization may fetch it')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  docker build -t acme/web:1 . && minga image push acme/web:1\n  minga image push acme/billing:3 --private')
    .action(async (ref: string, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const pushed = await ctx.api.post('/v1/images/push', { image: ref, ...(options.private === true ? { private: true } : {}) }, { timeoutMs: IMAGE_TIMEOUT })
      if (options.json === true) return ctx.json(pushed)
      ctx.out(`${pushed.tags.join(', ') || ref}: ${pushed.digest} (${bytes(pushed.size)}, ${pushed.layers} layer(s)) is in the mesh for ${pushed.org}${pushed.stored === 0 ? '' : `; ${pushed.stored} new chunk(s) stored here`}`)
    })

  image.command('ls')
    .description('list the images of the mesh: digests, sizes, who holds them, their scan results')
    .option('--outdated', 'list the services that run an older digest than their tag names now')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga image ls\n  minga image ls --outdated')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if (options.outdated === true) {
        const outdated = await ctx.api.get('/v1/images/outdated')
        if (options.json === true) return ctx.json(outdated)
        if (outdated.length === 0) return ctx.out('Every service runs the digest its tag names')
        return ctx.out(table(['SERVICE', 'TAG', 'RUNS', 'TAG IS NOW', 'PUSHED', 'WATCH'], outdated.map(o => [
          o.service, o.image, o.running.slice(0, 19), o.current.slice(0, 19), o.pushed === undefined ? '-' : new Date(o.pushed).toISOString().slice(0, 16) + 'Z', o.watch ? 'yes (see minga events)' : 'no: minga deploy to update'
        ])))
      }
      const images = await ctx.api.get('/v1/images')
      if (options.json === true) return ctx.json(images)
      ctx.out(table(['ORG', 'TAGS', 'DIGEST', 'SIZE', 'HELD BY', 'RUNS ON', 'SCAN'], images.map(i => [
        `${i.org}${i.private ? ' (private)' : ''}`,
        i.tags.join(',') || '-',
        i.digest.slice(0, 19),
        bytes(i.size),
        `${shortId(i.by)}${i.here ? ' (here)' : ''}`,
        i.runningOn.map(shortId).join(',') || '-',
        i.scan
      ])))
    })

  image.command('scan')
    .description('scan an image with the org\'s scanner (its command, else trivy or grype on PATH) and record the result in the mesh')
    .argument('<image>', 'a name (acme/web:1) or an image id')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga image scan acme/web:1')
    .action(async (ref: string, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const result = await ctx.api.post('/v1/images/scan', { image: ref }, { timeoutMs: IMAGE_TIMEOUT })
      if (options.json === true) return ctx.json(result)
      ctx.out(`${ref} (${result.digest.slice(0, 19)}): ${result.summary}`)
      for (const f of result.record?.findings ?? []) ctx.out(`  ${f.id}  ${f.severity}  ${f.package} ${f.installed}${f.fixed === undefined ? '' : ` → ${f.fixed}`}`)
    })

  program.command('scanner-db').description('the scanner\'s vulnerability database, carried by the mesh like an image')
    .command('push')
    .description('give the mesh a vulnerability database file: every node that scans for this org fetches it from the mesh, and the gate refuses scans made with one older than the policy allows')
    .argument('<file>', 'the database as the scanner publishes it (Trivy: db.tar.gz; Grype: its vulnerability-db archive; a command: any file, given to it as $MINGA_SCANNER_DB)')
    .requiredOption('--built <time>', 'when the database was built (ISO 8601, e.g. 2026-11-29T06:00:00Z)')
    .option('--scanner <kind>', 'trivy, grype or command (default: the scanner this node runs for the org)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga scanner-db push ./trivy-db.tar.gz --built 2026-11-29T06:00:00Z --scanner trivy')
    .action(async (file: string, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const pushed = await ctx.api.post('/v1/scanner-db', { path: resolve(file), built: options.built, ...(options.scanner === undefined ? {} : { scanner: options.scanner }) }, { timeoutMs: IMAGE_TIMEOUT })
      if (options.json === true) return ctx.json(pushed)
      ctx.out(`${pushed.org}'s ${pushed.scanner} database of ${new Date(pushed.built).toISOString().slice(0, 16)}Z (${bytes(pushed.size)}) is in the mesh`)
    })

  const policy = program.command('policy').description('the organization\'s scan gate on deploys')
  policy.command('set')
    .description('refuse deploys of images with findings of this level, unless a member waives them (minga deploy --waive ID)')
    .requiredOption('--block <level>', 'none, critical, critical-fixable, high or high-fixable')
    .option('--max-db-age <duration>', 'refuse scans made with a scanner database older than this (e.g. 7d)')
    .option('--scanner <command>', 'the org\'s scanner: a shell command given the image as a docker save tar ($1) that prints Trivy\'s or Grype\'s JSON report (default: trivy, else grype, on PATH)')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga policy set --block critical-fixable\n  minga policy set --block high --max-db-age 7d\n  minga policy set --block critical-fixable --scanner \'trivy image --quiet --format json --input "$1"\'')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const set = await ctx.api.post('/v1/policy', { block: options.block, ...(options.maxDbAge === undefined ? {} : { maxDbAge: options.maxDbAge }), ...(options.scanner === undefined ? {} : { scanner: options.scanner }) })
      if (options.json === true) return ctx.json(set)
      ctx.out(`${set.org}'s deploys now refuse images with ${set.block} findings${set.scanner === undefined ? '' : `, scanned by "${set.scanner}"`}`)
    })
  policy.command('show')
    .description('show the organization\'s scan gate')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga policy show')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const shown = await ctx.api.get('/v1/policy')
      if (options.json === true) return ctx.json(shown)
      ctx.out(shown.policy === null ? `${shown.org} has no scan gate: deploys are not refused for findings` : `${shown.org} blocks ${shown.policy.block} findings${shown.policy.scanner === undefined ? '' : `, scanned by "${shown.policy.scanner}"`}`)
    })
}

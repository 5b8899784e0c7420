/** mesh verbs: init, invite, join, up, nodes, status */
import { isIP } from 'node:net'
import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import type { StatusView } from '@minga/node/api'
import { collect, context, keyValues, type Context } from './context.js'
import { detachUp } from './detach.js'
import { durationFlag } from './duration.js'
import { CliError, EXIT } from './errors.js'
import { age, bytes, cpu, shortId, table } from './format.js'

/** the mesh's verbs on `program`: init, invite, join, up, nodes, status */
export function meshCommands (program: Command): void {
  program.command('init')
    .description('create a new mesh with this server as its first node')
    .requiredOption('--org <name>', 'the organization this server belongs to')
    .option('--recovery-key-file <path>', 'write the organization\'s recovery key to this file (mode 0600) instead of printing it')
    .addHelpText('after', '\nExample:\n  minga init --org acme\n  minga up')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const { createMesh } = await import('@minga/node/setup')
      const { meshId, peerId, recoveryKey } = await createMesh(ctx.dataDir, options.org)
      ctx.out(`Created mesh ${meshId} with organization ${options.org}.\nThis node is ${peerId}.\nStart it with: minga up${ctx.dataDir === context({}).dataDir ? '' : ` --data ${ctx.dataDir}`}`)
      await showRecoveryKey(ctx, options.org, recoveryKey, options.recoveryKeyFile)
    })

  program.command('invite')
    .description('print an invite token that lets another server join the mesh')
    .option('--org <name>', 'admit to this organization (default: this node\'s)')
    .option('--new-org', 'admit a server of a new organization, which names itself at join')
    .option('--ttl <duration>', 'how long the invite is valid', '24h')
    .option('--uses <n>', 'how many servers it may admit', '1')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExamples:\n  minga invite\n  minga invite --new-org --ttl 2h --uses 3')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if (options.org !== undefined && options.newOrg === true) throw new CliError('Use --org or --new-org, not both', EXIT.usage)
      await durationFlag(options.ttl, '--ttl', 'inviteTtl')
      const result = await ctx.api.post('/v1/invite', { org: options.org, newOrg: options.newOrg === true, ttl: options.ttl, uses: Number(options.uses) })
      if (options.json === true) return ctx.json(result)
      ctx.out(result.token)
      process.stderr.write(`Valid until ${new Date(result.expires).toISOString()}. On the new server run: minga join <token>${options.newOrg === true ? ' --org NAME' : ''}\n`)
    })

  program.command('join')
    .description('join a mesh with an invite token from one of its members')
    .argument('<token>', 'the token printed by "minga invite"')
    .option('--org <name>', 'name of the new organization (when the invite admits one)')
    .option('--label <key=value>', 'a node label (repeatable)', collect)
    .option('--timeout <duration>', 'how long each member named in the invite gets to answer', '30s')
    .option('--recover <file>', 'bring back an organization that lost all its nodes: its recovery key (with a --new-org invite from any member, and --org NAME)')
    .option('--recovery-key-file <path>', 'for a new organization: write its recovery key to this file (mode 0600) instead of printing it')
    .addHelpText('after', '\nExamples:\n  minga join minga1AbC… --org riverside\n  minga up\n  # acme lost every node: a new server, an invite from any member, the key acme kept\n  minga join minga1XyZ… --org acme --recover acme-recovery.key')
    .action(async (token, options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const timeoutMs = await durationFlag(options.timeout, '--timeout', 'wait')
      const { decodeRecoveryKey, joinMesh } = await import('@minga/node/setup')
      if (options.recover !== undefined && options.org === undefined) throw new CliError('--recover brings back an organization: name it with --org', EXIT.usage)
      const recover = options.recover === undefined ? undefined : decodeRecoveryKey(await readFile(String(options.recover), 'utf8'))
      const result = await joinMesh(ctx.dataDir, { token, org: options.org, labels: keyValues(options.label), timeoutMs, recover })
      ctx.out(`Joined mesh ${result.meshId} as a node of ${result.org}${recover === undefined ? '' : ', with its recovery key: it seals the org\'s secrets and backups to itself once it runs'}.\nThis node is ${result.peerId}.\nStart it with: minga up${ctx.dataDir === context({}).dataDir ? '' : ` --data ${ctx.dataDir}`}`)
      if (result.recoveryKey !== undefined) await showRecoveryKey(ctx, result.org, result.recoveryKey, options.recoveryKeyFile)
    })

  program.command('up')
    .description('run this node in the foreground')
    .option('--listen <multiaddr>', 'where members connect (repeatable)', collect)
    .option('--announce <multiaddr>', 'an address members outside this network dial, when none of this server\'s own is it: a port the router forwards here, or a dynamic DNS name (repeatable)', collect)
    .option('--door <multiaddr>', 'where joiners connect (repeatable)', collect)
    .option('--announce-door <multiaddr>', 'the door\'s address for joiners outside this network, as --announce for members; invites carry it (repeatable)', collect)
    .option('--runtime <kind>', 'docker, or memory (no containers: for trying minga out)', 'docker')
    .option('--docker-host <socket>', 'Docker engine socket (default: DOCKER_HOST or /var/run/docker.sock)')
    .option('--label <key=value>', 'a node label (repeatable)', collect)
    .option('--cpu <cores>', 'cpu this node offers, e.g. 2 or 1500m (default: all)')
    .option('--memory <size>', 'memory this node offers, e.g. 4Gi (default: all)')
    .option('--accept-orgs <list>', 'only run services of these organizations (comma-separated)')
    .option('--share <fraction>', 'share of capacity other organizations may use, 0 to 1')
    .option('--http <address>', 'where the dashboard and /metrics listen: ADDRESS:PORT, or off (default 127.0.0.1:7948)')
    .option('--publish-on <address>', 'an address the mesh\'s published ports and shared web ports bind (repeatable; default 0.0.0.0)', collect)
    .option('--web-ports <http,tls>', 'the shared web ports, routed by Host and SNI: HTTP,TLS, or off (default 80,443)')
    .option('--subnet <cidr>', 'the service network of this node\'s containers: a /23, or off (default: one of 10.213.0.0/16, picked once)')
    .option('--dns-upstream <list>', 'resolvers for names outside the mesh: IP[:PORT],…, or off (default: the host\'s)')
    .option('--backup-quota <size>', 'space this node gives other nodes\' encrypted backups, e.g. 20GiB (default 10GiB)')
    .option('--builder', 'build images for every organization that asks (minga build --on ORG); needs Docker and git')
    .option('-d, --detach', 'run in the background (log in DATA/minga.log); return once the node is ready')
    .addHelpText('after', '\nExamples:\n  minga up\n  minga up --listen /ip4/0.0.0.0/tcp/7946 --label disk=ssd --share 0.5\n  minga up --http 0.0.0.0:7948   # dashboard and metrics for the LAN\n  minga up --announce /dns4/home.example.org/tcp/7946 --announce-door /dns4/home.example.org/tcp/7947   # behind a router that forwards 7946 and 7947 here\n  minga up --publish-on 192.0.2.10 --web-ports 8080,8443\n  minga up --detach              # in the background, once ready\n  minga up --backup-quota 20GiB  # room for other organizations\' encrypted backups\n  minga up --builder             # build images for the mesh\'s organizations')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      if (!['docker', 'memory'].includes(options.runtime)) throw new CliError(`--runtime must be docker or memory, not ${options.runtime}`, EXIT.usage)
      if (options.detach === true) return await detachUp(ctx.dataDir)
      // V8's young generation stays small from the first line of bin/minga.js on (see there)
      const { nodeProcess, parseAnnounce, parseHttpAddress } = await import('@minga/node/setup')
      if (options.http !== undefined) parseHttpAddress(options.http)
      const announced = (list: string[] | undefined, kind: 'main' | 'door'): string[] => (list ?? []).map((text: string) => {
        try {
          return parseAnnounce(text, kind)
        } catch (err) {
          throw new CliError((err as Error).message, EXIT.usage)
        }
      })
      const announce = announced(options.announce, 'main')
      const announceDoor = announced(options.announceDoor, 'door')
      const { parseCpu, parseMemory } = await import('@minga/protocol')
      const capacity = options.cpu === undefined && options.memory === undefined ? undefined : { cpu: parseCpu(options.cpu ?? '1'), memory: parseMemory(options.memory ?? '1Gi') }
      if (capacity !== undefined && !(capacity.cpu > 0 && capacity.memory > 0)) throw new CliError('--cpu takes e.g. 2 or 1500m and --memory e.g. 4Gi; give both', EXIT.usage)
      const { parseSize } = await import('@minga/node/setup')
      const backupQuota = options.backupQuota === undefined ? undefined : parseSize(String(options.backupQuota))
      if (backupQuota !== undefined && !(backupQuota >= 0)) throw new CliError(`--backup-quota takes a size like 20GiB, 500MiB or 0, not ${String(options.backupQuota)}`, EXIT.usage)
      const share = options.share === undefined ? undefined : Number(options.share)
      if (share !== undefined && !(share >= 0 && share <= 1)) throw new CliError('--share is a fraction from 0 to 1', EXIT.usage)
      const routing = routingFlags(options)
      const daemon = nodeProcess({
        dataDir: ctx.dataDir,
        listen: options.listen,
        announce,
        door: options.door,
        announceDoor,
        runtime: options.runtime,
        dockerSocket: options.dockerHost,
        labels: keyValues(options.label),
        builder: options.builder === true,
        capacity,
        acceptOrgs: options.acceptOrgs?.split(',').map((s: string) => s.trim()).filter(Boolean),
        shareForOthers: share,
        backupQuota,
        http: options.http,
        ...routing,
        testMode: process.env.MINGA_TEST_MODE === '1',
        // a commit's folder reads as "minga apply DIR" reads one, without this process's environment
        loadFolder: async (folder, org) => await (await import('./desired/folder.js')).loadFolder(folder, { org, env: {} }),
        log: (line) => process.stderr.write(line + '\n')
      })
      let stopping = false
      const stop = async (): Promise<void> => {
        if (stopping) return
        stopping = true
        process.stderr.write('stopping…\n')
        await daemon.stop()
        process.exit(0)
      }
      process.on('SIGINT', () => { void stop() })
      process.on('SIGTERM', () => { void stop() })
      await daemon.start()
      process.stderr.write('ready\n')
    })

  program.command('nodes')
    .description('list the member nodes, their state and capacity')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga nodes')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const nodes = await ctx.api.get('/v1/nodes')
      if (options.json === true) return ctx.json(nodes)
      ctx.out(table(['NODE', 'ORG', 'STATE', 'CPU', 'MEMORY', 'REPLICAS', 'SEEN', 'LABELS'], nodes.map((n) => [
        shortId(n.id) + (n.self === true ? '*' : ''),
        n.org,
        n.status + (n.cordoned === true ? ',cordoned' : ''),
        `${cpu(n.allocated?.cpu)}/${cpu(n.capacity?.cpu)}`,
        `${bytes(n.allocated?.memory)}/${bytes(n.capacity?.memory)}`,
        String(n.replicas),
        n.self === true ? 'self' : age(n.lastSeenMs),
        Object.entries(n.labels).map(([k, v]) => `${k}=${String(v)}`).join(',') || '-'
      ])))
    })

  program.command('status')
    .description('is the mesh healthy, and if not, what to look at')
    .option('--json', 'machine-readable output')
    .addHelpText('after', '\nExample:\n  minga status')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      const s = await ctx.api.get('/v1/status')
      if (options.json === true) return ctx.json(s)
      ctx.out(statusScreen(s))
      if (s.healthy !== true) process.exitCode = EXIT.failure
    })
}

function percent (used: number, total: number): string {
  return total > 0 ? ` (${Math.round(100 * used / total)}%)` : ''
}

/** the status as one screen: a verdict, the numbers, then what to look at */
function statusScreen (s: StatusView): string {
  const live = s.nodes.total - s.nodes.removed
  const lines = [
    `mesh ${s.meshId} · node ${shortId(s.node)} of ${s.org} · ${s.healthy === true ? 'HEALTHY' : 'NEEDS ATTENTION'}`,
    '',
    `nodes     ${s.nodes.alive} of ${live} alive${s.nodes.suspect > 0 ? `, ${s.nodes.suspect} suspect` : ''}${s.nodes.dead > 0 ? `, ${s.nodes.dead} dead` : ''}${s.nodes.cordoned > 0 ? `, ${s.nodes.cordoned} cordoned` : ''}${s.nodes.removed > 0 ? ` (${s.nodes.removed} removed)` : ''}`,
    `state     ${s.agreeing} of ${s.nodes.alive + s.nodes.suspect} live nodes agree (digest ${String(s.digest).slice(0, 12)})`,
    `services  ${s.services.total - s.services.degraded.length} of ${s.services.total} at full health`,
    `replicas  ${s.replicas.healthy} healthy${s.replicas.updated !== undefined && s.replicas.updated < s.replicas.healthy ? ` (${s.replicas.updated} on the current spec)` : ''}, ${s.replicas.running} running, ${s.replicas.desired} desired${s.replicas.unplaced > 0 ? `, ${s.replicas.unplaced} unplaced` : ''}`
  ]
  if (s.clock !== undefined) {
    const c = s.clock
    const refused = c.refusedBy?.length > 0 ? `; ${c.refusedBy.length} node(s) refuse this node's changes` : ''
    const refusing = c.refusing?.length > 0 ? `; this node refuses ${c.refusing.length} node(s)' changes` : ''
    lines.push(`clock     ${Math.abs(c.aheadMs) < 1000 ? 'agrees with' : `${age(Math.abs(c.aheadMs))} ${c.aheadMs > 0 ? 'ahead of' : 'behind'}`} the mesh (from ${c.peers} node(s)' probes)${refused}${refusing}`)
  }
  if (s.capacity !== undefined) {
    const { cpu: c, memory: m } = s.capacity
    lines.push(`capacity  cpu ${cpu(c.allocated)}/${cpu(c.capacity)}${percent(c.allocated, c.capacity)}, memory ${bytes(m.allocated)}/${bytes(m.capacity)}${percent(m.allocated, m.capacity)} requested`)
  }
  if (s.recent !== undefined) {
    const r = s.recent
    lines.push(`last hour ${r.crashes} crash(es), ${r.startErrors} failed start(s), ${r.nodesDied} node death(s), ${r.rejectedEntries} rejected entr${r.rejectedEntries === 1 ? 'y' : 'ies'} seen by this node`)
  }
  if (s.problems.length > 0) lines.push('', 'What to look at:', ...s.problems.map((p: string) => `  ! ${p}`))
  if ((s.notes ?? []).length > 0) lines.push('', ...s.notes.map((n: string) => `  - ${n}`))
  return lines.join('\n')
}

/** `--publish-on`, `--web-ports`, `--subnet`, `--dns-upstream`, checked; CliError (usage) saying what each takes */
function routingFlags (options: { publishOn?: string[], webPorts?: string, subnet?: string, dnsUpstream?: string }): { publishOn?: string[], webPorts?: { http: number, tls: number } | null, subnet?: string, dnsUpstream?: string[] } {
  const out: ReturnType<typeof routingFlags> = {}
  if (options.publishOn !== undefined) {
    const addresses = options.publishOn.flatMap(a => a.split(',')).map(a => a.trim()).filter(Boolean)
    const bad = addresses.find(a => isIP(a) === 0)
    if (bad !== undefined || addresses.length === 0) throw new CliError(`--publish-on takes IP addresses of this host, like 0.0.0.0 or 192.0.2.10 (got ${JSON.stringify(bad ?? '')})`, EXIT.usage)
    out.publishOn = addresses
  }
  if (options.webPorts !== undefined) {
    if (options.webPorts === 'off') {
      out.webPorts = null
    } else {
      const ports = options.webPorts.split(',').map(Number)
      if (ports.length !== 2 || !ports.every(p => Number.isInteger(p) && p >= 1 && p <= 65535) || ports[0] === ports[1]) throw new CliError(`--web-ports takes two ports, HTTP,TLS, like 80,443, or off (got ${JSON.stringify(options.webPorts)})`, EXIT.usage)
      out.webPorts = { http: ports[0], tls: ports[1] }
    }
  }
  if (options.subnet !== undefined) {
    if (options.subnet !== 'off' && !/^\d+\.\d+\.\d+\.\d+\/23$/.test(options.subnet)) throw new CliError(`--subnet takes a /23 like 10.213.14.0/23, or off (got ${JSON.stringify(options.subnet)})`, EXIT.usage)
    out.subnet = options.subnet
  }
  if (options.dnsUpstream !== undefined) {
    const servers = options.dnsUpstream === 'off' ? [] : options.dnsUpstream.split(',').map(s => s.trim()).filter(Boolean)
    const bad = servers.find(s => isIP(s.replace(/^\[(.*)\](:\d+)?$/, '$1').replace(/^([\d.]+):\d+$/, '$1')) === 0)
    if (bad !== undefined) throw new CliError(`--dns-upstream takes resolvers like 192.0.2.53 or 192.0.2.53:5353, comma-separated, or off (got ${JSON.stringify(bad)})`, EXIT.usage)
    out.dnsUpstream = servers
  }
  return out
}

/** an org's recovery key, shown once: printed, or written to a file the operator named */
async function showRecoveryKey (ctx: Context, org: string, key: string, file: string | undefined): Promise<void> {
  const why = `With it, a new server brings ${org} back, with its services' secrets and backups, if ${org} ever loses every node (minga join TOKEN --org ${org} --recover FILE). Keep it offline, away from this server; minga keeps no copy.`
  if (file !== undefined) {
    await writeFile(file, key + '\n', { mode: 0o600, flag: 'wx' })
    ctx.out(`\nThe recovery key of ${org} is in ${file}. ${why}`)
    return
  }
  ctx.out(`\nRecovery key of ${org} (shown once). ${why}\n${key}`)
}

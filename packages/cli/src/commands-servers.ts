/** servers as code: minga node script */
import { createHash } from 'node:crypto'
import { readFile, readdir } from 'node:fs/promises'
import { basename, dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Command } from 'commander'
import { context, keyValues } from './context.js'
import { durationFlag } from './duration.js'
import { CliError, EXIT } from './errors.js'
import { cloudInit, nodeScript } from './node-script.js'

/** where `npm run release` leaves the tarball, beside this package in the repository */
const RELEASES = resolve(dirname(fileURLToPath(import.meta.url)), '../../../../artifacts')

/** `minga node script` under the `node` command */
export function serverCommands (program: Command): void {
  const node = program.commands.find(c => c.name() === 'node') ?? program.command('node').description('act on one node of the mesh')
  node.command('script')
    .description('print a shell script that makes a blank Debian 12 server a node of this mesh: installs Docker, restic, git and minga, joins with a fresh invite, runs minga under systemd; running it again changes nothing')
    .option('--org <name>', 'the organization the server joins (default: this node\'s; another name makes a new organization)')
    .option('--labels <k=v,…>', 'node labels, comma-separated (e.g. zone=east,disk=ssd)')
    .option('--ttl <duration>', 'how long the invite inside stays valid', '24h')
    .option('--artifact <file>', 'the release tarball (npm run release); default: the newest under artifacts/')
    .option('--artifact-url <url>', 'download the tarball from here instead of embedding it (its sha256 is still checked)')
    .option('--cloud-init', 'print cloud-init user data that runs the script at first boot')
    .option('--up-args <flags>', 'extra flags for minga up in the service, e.g. "--share 0.5"')
    .addHelpText('after', '\nExamples:\n  minga node script --labels zone=east > node.sh && scp node.sh new-server: && ssh new-server sudo bash node.sh\n  minga node script --artifact-url https://files.example.org/minga-0.1.0-linux-x64.tar.gz --cloud-init > user-data')
    .action(async (options, cmd) => {
      const ctx = context(cmd.optsWithGlobals())
      await durationFlag(options.ttl, '--ttl', 'inviteTtl')
      const labels = keyValues(String(options.labels ?? '').split(',').map(s => s.trim()).filter(Boolean))
      const file = options.artifact ?? await newestRelease()
      let tarball: Buffer
      try {
        tarball = await readFile(file)
      } catch {
        throw new CliError(`Cannot read the release tarball ${file}; build it with "npm run release" or give --artifact FILE`, EXIT.usage)
      }
      const status = await ctx.api.get('/v1/status')
      const org = options.org ?? status.org
      const newOrg = org !== status.org
      const invite = await ctx.api.post('/v1/invite', { ...(newOrg ? { newOrg: true } : {}), ttl: options.ttl, uses: 1 })
      const script = nodeScript({
        invite: invite.token,
        expires: invite.expires,
        org,
        newOrg,
        labels,
        artifact: { name: basename(file), sha256: createHash('sha256').update(tarball).digest('hex') },
        ...(options.artifactUrl === undefined ? { embedded: tarball } : { artifactUrl: options.artifactUrl }),
        upArgs: options.upArgs === undefined ? [] : String(options.upArgs).split(/\s+(?=--)/)
      })
      if (options.cloudInit === true && options.artifactUrl === undefined) process.stderr.write('note: the tarball is embedded, so this user data is large; most clouds cap user data (16 KB on some): publish the tarball and pass --artifact-url\n')
      process.stdout.write(options.cloudInit === true ? cloudInit(script) : script)
    })
}

async function newestRelease (): Promise<string> {
  const names = (await readdir(RELEASES).catch(() => [] as string[])).filter(n => /^minga-.*-linux-.*\.tar\.gz$/.test(n)).sort()
  if (names.length === 0) throw new CliError(`No release tarball under ${RELEASES}; build one with "npm run release" or give --artifact FILE`, EXIT.usage)
  return join(RELEASES, names[names.length - 1])
}

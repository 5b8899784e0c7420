/**
 * End to end, git as the source, on real Docker engines: a local git
 * repository followed with `minga apply --git file://… --path apps
 * --watch 5s --prune`. A commit that adds a service runs it; a commit that
 * changes it rolls it; a commit that deletes its file removes it (prune); a
 * broken commit changes nothing and `minga sources` shows why; the watching
 * node is killed and another node of the organization takes over the
 * watch (riverside's node never does). Then the desired state as files:
 * `export` → `apply --dry-run` reports no change, and `diff` exits 0, 1 or 2.
 */
import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { withCluster, type DockerCluster } from '../src/docker-cluster.js'
import { dockerTests } from '../src/docker-engines.js'

const exec = promisify(execFile)
const { engines, it } = await dockerTests(['e2e-git-a', 'e2e-git-b', 'e2e-git-c'])

const web = (image: string): string => `name: web\nimage: ${image}\ncommand: ["httpd", "-f", "-p", "8080", "-h", "/"]\nresources: { cpu: 100m, memory: 32Mi }\n`
const api = 'name: api\nimage: minga/busybox:1\ncommand: ["sleep", "3600"]\nresources: { cpu: 100m, memory: 32Mi }\n'

async function git (repo: string, ...args: string[]): Promise<string> {
  const { stdout } = await exec('git', ['-C', repo, '-c', 'user.name=Ops', '-c', 'user.email=ops@acme.example', '-c', 'commit.gpgsign=false', ...args])
  return stdout.trim()
}

async function commit (repo: string, message: string, files: Record<string, string | null>): Promise<string> {
  for (const [path, content] of Object.entries(files)) {
    if (content === null) await git(repo, 'rm', '-q', path)
    else {
      await mkdir(join(repo, path, '..'), { recursive: true })
      await writeFile(join(repo, path), content)
      await git(repo, 'add', path)
    }
  }
  await git(repo, 'commit', '-q', '-m', message)
  return await git(repo, 'rev-parse', 'HEAD')
}

async function sources (cluster: DockerCluster, node: number): Promise<any[]> {
  return JSON.parse((await cluster.mustMinga(node, ['sources', '--json'])).stdout)
}

/** the acme services' containers that serve, by service, with their images: the spec's name when they run its pinned digest (apply pins images as deploy does) */
async function serving (cluster: DockerCluster, service: string): Promise<string[]> {
  const containers = await cluster.serving(`acme/${service}`)
  if (containers.length === 0) return []
  // from any node still up (the test kills the watcher)
  let spec: any
  for (let i = 0; i < cluster.nodes.length && spec === undefined; i++) spec = (await cluster.api(i, `/v1/services/acme/${service}`).catch(() => undefined))?.spec
  if (spec === undefined) return containers.map(c => c.image)
  return containers.map(c => spec.imageDigest !== undefined && c.image === spec.imageDigest ? spec.image : c.image)
}

it('e2e: the mesh follows a git repository: add runs, change rolls, delete prunes, a broken commit changes nothing, another node takes over the watch', async () => {
  await withCluster(engines, { orgs: ['acme', 'acme', 'riverside'] }, async (cluster) => {
    const repo = join(cluster.dir, 'infra')
    await mkdir(repo)
    await git(repo, 'init', '-q', '-b', 'main')
    await commit(repo, 'readme', { 'README.md': '# infra\n', 'apps/.keep': '' })

    const watch = await cluster.mustMinga(0, ['apply', '--git', `file://${repo}`, '--path', 'apps/', '--watch', '5s', '--prune', '--name', 'infra'])
    assert.match(watch.stdout, 'acme/infra: following file://')

    // a new service: it runs, and ls shows the commit it came from
    const first = await commit(repo, 'web', { 'apps/web.yaml': web('minga/busybox:1') })
    await cluster.waitFor('web runs from the first commit', async () => (await serving(cluster, 'web')).length === 1, 90_000)
    const ls = (await cluster.mustMinga(1, ['ls'])).stdout
    assert.match(ls, new RegExp(`acme/web\\s.*infra@${first.slice(0, 12)}`))
    const events = (await cluster.mustMinga(2, ['events', '--kind', 'source-applied'])).stdout
    assert.match(events, `commit ${first.slice(0, 12)} applied: 1 created`)

    // a second service, then a change that rolls the first
    await commit(repo, 'api', { 'apps/api.yaml': api })
    await cluster.waitFor('api runs', async () => (await serving(cluster, 'api')).length === 1, 90_000)
    const third = await commit(repo, 'web on busybox 2', { 'apps/web.yaml': web('minga/busybox:2') })
    await cluster.waitFor('web rolls to the new image', async () => {
      const images = await serving(cluster, 'web')
      return images.length === 1 && images[0] === 'minga/busybox:2'
    }, 90_000)
    const views = JSON.parse((await cluster.mustMinga(0, ['ls', '--json'])).stdout)
    assert.is(views.find((s: any) => s.id === 'acme/web').source.commit, third)

    // a file deleted: its service goes
    await commit(repo, 'api retired', { 'apps/api.yaml': null })
    await cluster.waitFor('api is pruned', async () => (await cluster.everywhere('acme/api')).length === 0 && !(await cluster.mustMinga(0, ['ls'])).stdout.includes('acme/api'), 90_000)

    // a broken commit: nothing changes, and the error is shown
    const before = (await cluster.everywhere('acme/web')).map(c => c.id)
    const broken = await commit(repo, 'oops', { 'apps/web.yaml': web('minga/busybox:1') + 'replicas: two\n', 'apps/api.yaml': api })
    await cluster.waitFor('the broken commit is reported', async () => (await sources(cluster, 0))[0]?.status?.rejected?.commit === broken, 60_000)
    const shown = (await cluster.mustMinga(1, ['sources'])).stdout
    assert.match(shown, `commit ${broken.slice(0, 12)} refused`)
    assert.match(shown, 'web.yaml')
    assert.match(shown, 'replicas')
    assert.match((await cluster.mustMinga(1, ['events', '--kind', 'source-rejected'])).stdout, `commit ${broken.slice(0, 12)} not applied`)
    assert.equal((await cluster.everywhere('acme/web')).map(c => c.id), before, 'web was not touched')
    assert.is((await cluster.everywhere('acme/api')).length, 0, 'api, in the broken commit too, was not created')

    // the watcher dies: the other acme node takes over (riverside's never watches acme's source)
    const watcher = (await sources(cluster, 0))[0].watcher as string
    const dying = cluster.nodes.findIndex(n => n.peerId === watcher)
    assert.ok(dying === 0 || dying === 1, 'a node of acme watches')
    const heir = 1 - dying
    await cluster.kill(dying)
    const fixed = await commit(repo, 'fixed', { 'apps/web.yaml': web('minga/busybox:1') + 'replicas: 2\n', 'apps/api.yaml': null })
    await cluster.waitFor('the other acme node applies the next commit', async () => {
      const [source] = await sources(cluster, heir)
      return source?.status?.commit === fixed && source.status.node === cluster.nodes[heir].peerId
    }, 90_000)
    assert.is((await sources(cluster, heir))[0].watcher, cluster.nodes[heir].peerId, 'the heir watches, not riverside\'s node')
    assert.match((await cluster.mustMinga(heir, ['events', '--kind', 'source-watch'])).stdout, 'this node watches file://')
    await cluster.waitFor('web runs 2 replicas of the fixed commit', async () => (await serving(cluster, 'web')).join() === 'minga/busybox:1,minga/busybox:1', 90_000)

    // export, then apply --dry-run of the export: no change; diff's exit codes
    const exported = join(cluster.dir, 'exported')
    await cluster.mustMinga(heir, ['export', exported])
    const dry = await cluster.mustMinga(heir, ['apply', exported, '--dry-run', '--prune'])
    assert.match(dry.stdout, 'Plan: 0 to create, 0 to update, 0 to remove, 1 unchanged.')
    assert.is((await cluster.minga(heir, ['diff', exported, '--prune'])).code, 0)
    await writeFile(join(exported, 'web.yaml'), web('minga/busybox:2') + 'replicas: 2\n')
    const changed = await cluster.minga(heir, ['diff', exported])
    assert.is(changed.code, 1, changed.stderr)
    assert.match(changed.stdout, '~ image: "minga/busybox:1" => "minga/busybox:2"')
    await writeFile(join(exported, 'bad.yaml'), 'name: bad\nimage: minga/busybox:1\nreplicas: -1\n')
    const bad = await cluster.minga(heir, ['diff', exported])
    assert.is(bad.code, 2)
    assert.match(bad.stderr, 'bad.yaml')
    await rm(join(exported, 'bad.yaml'))
    await writeFile(join(exported, 'theirs.yaml'), 'name: theirs\norg: riverside\nimage: minga/busybox:1\n')
    const theirs = await cluster.minga(heir, ['apply', exported, '--prune'])
    assert.is(theirs.code, 2, 'a folder with another organization\'s service applies nothing')
    assert.match(theirs.stderr, 'riverside')
    assert.equal((await serving(cluster, 'web')).sort(), ['minga/busybox:1', 'minga/busybox:1'], 'nothing of that folder was applied')
  })
})

test.run()

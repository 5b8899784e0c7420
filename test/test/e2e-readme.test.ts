/**
 * README.md's Docker examples, on real engines: its web spec runs healthy
 * (busybox httpd needs -h to serve /), scripts/quickstart.sh runs a node on
 * the ports and engine it is given and builds the example images there, and
 * the README's next command deploys a page a browser can open; the "Running
 * real containers" commands start an engine, build the images and run a node
 * on it. Only an engine's name, data dirs and ports are adapted.
 */
import * as assert from 'uvu/assert'
import { test } from 'uvu'
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { blockWith, readmeExamples, waitFor } from '../src/index.js'
import { freePort, killSupervisors, withCluster } from '../src/docker-cluster.js'
import { dockerTests, REPO_ROOT } from '../src/docker-engines.js'
import { servingAtLeast } from '../src/docker-samples.js'

const { engines: started, it } = await dockerTests(['e2e-a', 'e2e-b', 'e2e-c'])
const examples = readmeExamples()
const children = new Set<ChildProcess>()
process.on('exit', () => { for (const child of children) child.kill('SIGKILL') })

interface Run { status: number | null, out: string }

/** bash -c TEXT at the repository's root; `background` resolves once a line says "ready" */
function bash (text: string, env: Record<string, string>, background = false): Promise<Run> & { child: ChildProcess } {
  const child = spawn('bash', ['-c', text], { cwd: REPO_ROOT, env: { ...process.env, PATH: `${REPO_ROOT}node_modules/.bin:${process.env.PATH ?? ''}`, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  children.add(child)
  let out = ''
  const done = new Promise<Run>((resolve, reject) => {
    const onData = (d: string): void => { out += d; if (background && /(^|\n)ready\n/.test(out)) resolve({ status: null, out }) }
    child.stdout!.setEncoding('utf8').on('data', onData)
    child.stderr!.setEncoding('utf8').on('data', onData)
    child.on('error', reject)
    child.on('close', (status) => { children.delete(child); resolve({ status, out }) })
  })
  return Object.assign(done, { child })
}

async function stop (child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  const exited = new Promise(resolve => child.once('close', resolve))
  child.kill('SIGTERM')
  await exited
}

it('e2e: the README\'s web spec runs healthy on Docker: its health check passes', async () => {
  const spec = examples.blocks.find(b => b.lang === 'yaml' && b.lines[0] === 'name: web')
  assert.ok(spec !== undefined)
  await withCluster(started, { orgs: ['acme', 'acme', 'riverside'] }, async (cluster) => {
    await cluster.deploy(0, spec.lines.join('\n') + '\n', ['--wait', '--timeout', '3m'])
    const ls = JSON.parse((await cluster.mustMinga(0, ['ls', '--json'])).stdout)
    assert.is(ls.find((s: any) => s.id === 'acme/web')?.updated, 2, JSON.stringify(ls))
    // Docker itself says healthy, both copies (its first check may come an interval after minga's)
    const serving = await servingAtLeast(cluster, 'acme/web', 2)
    assert.is(serving.filter(c => c.health === 'healthy').length, 2)
  })
})

it('e2e: quickstart.sh runs a node on the ports and engine it is given, and the README\'s next command serves a page', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'minga-quickstart-'))
  const engine = started[0]
  const env = { MINGA_DATA: join(dir, 'data'), MINGA_HTTP: '127.0.0.1:0', DOCKER_HOST: `unix://${engine.socket}` }
  // the two commands of "Two commands": the quickstart, and the one after it
  const quickstart = blockWith(examples, 'bash scripts/quickstart.sh').lines[0]
  const next = blockWith(examples, 'examples/hello.yaml').lines[0]
  assert.is(quickstart, 'bash scripts/quickstart.sh')
  // ports by flag, the engine and the dashboard by environment: both ways work
  const node = bash(`${quickstart} --listen /ip4/127.0.0.1/tcp/0 --door /ip4/127.0.0.1/tcp/0`, env, true)
  try {
    const up = await node
    assert.match(up.out, /minga\/busybox:1 (built|is already on the engine)/, 'the example images are on the engine it uses')
    assert.match(up.out, /minga node 12D3KooW\w+ \(home\)/)
    assert.match(up.out, /listening on \/ip4\/127\.0\.0\.1\/tcp\/\d+/)
    // the README's next command, with the page on a port that is free on this shared machine
    const port = await freePort()
    const hello = (await readFile(join(REPO_ROOT, 'examples/hello.yaml'), 'utf8')).replaceAll('8080', String(port))
    await writeFile(join(dir, 'hello.yaml'), hello)
    const deploy = await bash(next.replace('examples/hello.yaml', join(dir, 'hello.yaml')), env)
    assert.is(deploy.status, 0, deploy.out)
    assert.match(next, /examples\/hello\.yaml/)
    const page = await waitFor(async () => {
      const response = await fetch(`http://127.0.0.1:${port}/`)
      return response.status === 200 ? await response.text() : undefined
    }, { label: 'the page answers' })
    assert.match(page, /<h1>Hello from minga<\/h1>/)
    assert.is((await bash('minga rm hello', env)).status, 0)
  } finally {
    await stop(node.child)
    await engine.api.removeAll({ label: ['io.minga.mesh'] }).catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
})

it('e2e: the "Running real containers" commands start an engine, build the images and run a node on it', async () => {
  const lines = blockWith(examples, 'bash scripts/docker-engine.sh start main').lines.map(l => l.replace(/\s+#\s.*$/, ''))
  const root = process.env.MINGA_DOCKER_ROOT ?? '/tmp/minga-docker'
  const adapt = (text: string): string => text.replace(/\/tmp\/minga-docker\/main\//g, `${root}/e2e-readme/`).replace(/ main$/, ' e2e-readme')
  const dir = await mkdtemp(join(tmpdir(), 'minga-real-'))
  const env = { MINGA_DATA: dir }
  try {
    const start = await bash(adapt(lines[0]), env)
    assert.is(start.status, 0, start.out)
    assert.is(start.out.trim().split('\n').pop(), `${root}/e2e-readme/docker.sock`, 'it prints the socket the next lines use')
    const images = await bash(adapt(lines[1]), env)
    assert.is(images.status, 0, images.out)
    assert.is((await bash('minga init --org acme', env)).status, 0)
    const node = bash(`${adapt(lines[2])} --listen /ip4/127.0.0.1/tcp/0 --door /ip4/127.0.0.1/tcp/0 --http off`, env, true)
    assert.match((await node).out, /(^|\n)ready\n/)
    await writeFile(join(dir, 'web.yaml'), 'name: web\nimage: minga/busybox:2\ncommand: ["httpd", "-f", "-p", "8080", "-h", "/var/www"]\n')
    assert.is((await bash(`minga deploy -f ${join(dir, 'web.yaml')} --wait`, env)).status, 0)
    await stop(node.child)
  } finally {
    // the node's supervisor would wait for ever on an engine that is gone, to confirm its containers stopped
    await killSupervisors(dir)
    const stopped = await bash(adapt(lines[3]), env)
    assert.is(stopped.status, 0, stopped.out)
    await rm(dir, { recursive: true, force: true })
  }
})

test.run()

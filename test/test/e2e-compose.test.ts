/**
 * End to end on a real Docker engine: a Compose file deployed as it is
 * (`minga deploy -f compose.yaml -p e2e`) produces exactly the containers it
 * describes. The engine runs in a network namespace of its own with Docker's
 * bridge (scripts/docker-engine.sh, MINGA_DOCKER_BRIDGE=1), so a port bound
 * to 127.0.0.1 is really bound there and nowhere else. Checked through the
 * engine's API and through what the containers print: entrypoint and command
 * as Compose splits them (`uname -m -o`), a config file from the project
 * folder, a secret file in /run/secrets, `user:`, a tmpfs, an anonymous
 * volume, a variable from .env. Deploying again changes nothing, a spec file
 * of the same name is refused; `minga rm -p` removes the project.
 */
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import { machine } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { isStandby, withCluster } from '../src/docker-cluster.js'
import { dockerTests, type Engine } from '../src/docker-engines.js'

const exec = promisify(execFile)
const { engines: started, it } = await dockerTests(['e2e-compose'], { bridge: true })
const PORT = 18090

const COMPOSE = `
name: ignored-when-p-is-given
services:
  probe:
    image: minga/busybox:1
    entrypoint: uname
    command: -m -o
  app:
    image: "minga/busybox:\${TAG:-1}"
    user: "1234:1234"
    entrypoint: ["sh", "-c"]
    command:
      - "id -u; id -g; cat /etc/app/app.conf; cat /run/secrets/token; echo; grep ' /scratch ' /proc/mounts; mkdir -p /tmp/www && echo served > /tmp/www/index.html && exec httpd -f -p 8080 -h /tmp/www"
    ports:
      - "127.0.0.1:${PORT}:8080"
    tmpfs: /scratch
    volumes:
      - ./conf:/etc/app:ro
      - /cache
    secrets: [token]
    environment:
      GREETING: \${GREETING}
    deploy:
      resources:
        limits: { cpus: "0.2", memory: 32m }
secrets:
  token:
    file: ./token.txt
`

const FETCH = 'fetch(process.argv[1], { signal: AbortSignal.timeout(3000) }).then(async r => console.log(await r.text()), e => { console.log(e.cause?.code ?? e.name); process.exitCode = 1 })'

/** GET a URL from inside the engine's network namespace, where its published ports are */
async function fetchInNamespace (engine: Engine, url: string): Promise<{ ok: boolean, out: string }> {
  try {
    const { stdout } = await exec('nsenter', [`--net=${engine.netns!}`, process.execPath, '-e', FETCH, url], { timeout: 15_000 })
    return { ok: true, out: stdout }
  } catch (err: any) {
    return { ok: false, out: `${String(err.stdout ?? '')}${String(err.stderr ?? '')}` }
  }
}

const engine = started[0]
it('e2e: a Compose file produces the containers it describes, on a real engine', async () => {
  await withCluster(started, { orgs: ['acme'] }, async (cluster) => {
    const project = join(cluster.dir, 'shop')
    await mkdir(join(project, 'conf'), { recursive: true })
    await writeFile(join(project, 'compose.yaml'), COMPOSE)
    await writeFile(join(project, 'conf', 'app.conf'), 'level=debug\n')
    await writeFile(join(project, 'token.txt'), 's3cret-token')
    await writeFile(join(project, '.env'), 'GREETING="hello from .env"\n')
    const file = join(project, 'compose.yaml')

    const deployed = await cluster.mustMinga(0, ['deploy', '-f', file, '-p', 'e2e'])
    assert.match(deployed.stdout, 'acme/e2e-probe: created')
    assert.match(deployed.stdout, 'acme/e2e-app: created')
    assert.match(deployed.stderr, 'warning: services.probe: no limits given')

    const containerOf = async (service: string): Promise<any> => {
      const [c] = (await engine.api.containers({ label: [`io.minga.service=acme/${service}`] })).filter(c => !isStandby(c))
      return c === undefined ? undefined : (await engine.api.call('GET', `/containers/${c.id}/json`)).body
    }
    let app: any
    await cluster.waitFor('the app container runs', async () => {
      app = await containerOf('e2e-app')
      return app?.State?.Running === true
    }, 90_000)

    // what the engine holds
    assert.is(app.Config.User, '1234:1234')
    assert.equal(app.Config.Entrypoint, ['sh', '-c'])
    assert.ok(app.Config.Env.includes('GREETING=hello from .env'), app.Config.Env.join(' '))
    assert.not.ok(JSON.stringify(app.Config).includes('s3cret-token'), 'the secret is a file, not in the container\'s config')
    assert.equal(app.HostConfig.PortBindings['8080/tcp'], [{ HostIp: '127.0.0.1', HostPort: String(PORT) }])
    assert.ok(app.HostConfig.Mounts.some((m: any) => m.Type === 'tmpfs' && m.Target === '/scratch'), JSON.stringify(app.HostConfig.Mounts))
    const cache = app.Mounts.find((m: any) => m.Destination === '/cache')
    assert.ok(cache?.Type === 'volume' && typeof cache.Name === 'string' && !cache.Name.startsWith('minga-'), 'an anonymous volume at /cache')
    assert.is(app.HostConfig.Memory, 32 * 1024 * 1024)

    // what the container sees: its user, the config file, the secret file, the tmpfs
    await cluster.waitFor('the app printed what it sees', async () => {
      const logs = (await cluster.minga(0, ['logs', 'e2e-app'])).stdout
      return logs.includes('level=debug') && logs.includes('s3cret-token') && logs.includes(' /scratch tmpfs ')
    }, 60_000)
    const lines = (await cluster.mustMinga(0, ['logs', 'e2e-app'])).stdout.split('\n')
    assert.ok(lines.filter(l => /\b1234$/.test(l)).length >= 2, `id -u and id -g print 1234:\n${lines.join('\n')}`)

    // the port answers on 127.0.0.1 only: not on the bridge's address of the same namespace
    await cluster.waitFor('the app answers on 127.0.0.1', async () => (await fetchInNamespace(engine, `http://127.0.0.1:${PORT}/`)).out.includes('served'), 30_000)
    const gateway = app.NetworkSettings.Gateway as string
    assert.ok(gateway !== undefined && gateway !== '', 'the container is on the bridge')
    const elsewhere = await fetchInNamespace(engine, `http://${gateway}:${PORT}/`)
    assert.not.ok(elsewhere.ok, `the port is not open on ${gateway}: ${elsewhere.out}`)
    assert.match(elsewhere.out, 'ECONNREFUSED')

    // entrypoint uname with command "-m -o" runs `uname -m -o`
    // it exits at once and is started again after a back-off: between its copies there is no container to read
    let probe: any
    await cluster.waitFor('the probe has a container', async () => (probe = await containerOf('e2e-probe')) !== undefined, 90_000)
    assert.equal([probe.Config.Entrypoint, probe.Config.Cmd], [['uname'], ['-m', '-o']])
    await cluster.waitFor('the probe printed uname -m -o', async () => (await cluster.minga(0, ['logs', 'e2e-probe'])).stdout.includes(`${machine()} GNU/Linux`), 60_000)

    // minga ls shows the project; deploying the same file again changes nothing
    const ls = JSON.parse((await cluster.mustMinga(0, ['ls', '--json'])).stdout)
    assert.equal(ls.filter((s: any) => s.project === 'e2e').map((s: any) => s.id).sort(), ['acme/e2e-app', 'acme/e2e-probe'])
    assert.match((await cluster.mustMinga(0, ['ls'])).stdout, /acme\/e2e-app\s+e2e\s+minga\/busybox:1/)
    const again = await cluster.mustMinga(0, ['deploy', '-f', file, '-p', 'e2e'])
    assert.match(again.stdout, 'acme/e2e-app: unchanged')
    assert.is((await containerOf('e2e-app')).Id, app.Id, 'the container was not replaced')

    // nothing outside the project replaces its services: a spec file of the same name is refused, and changes nothing
    await writeFile(join(cluster.dir, 'plain.yaml'), 'name: e2e-app\nimage: minga/busybox:2\n')
    const plain = await cluster.minga(0, ['deploy', '-f', join(cluster.dir, 'plain.yaml')])
    assert.is(plain.code, 1, plain.stderr)
    assert.match(plain.stderr, 'acme/e2e-app belongs to project e2e; deploy it from that project\'s Compose file, or remove the project first with "minga rm -p e2e"')
    const other = await cluster.minga(0, ['deploy', '-f', file, '-p', 'e2e-2', '--dry-run', '--json'])
    assert.equal(JSON.parse(other.stdout).services.map((s: any) => s.name).sort(), ['e2e-2-app', 'e2e-2-probe'])
    assert.is((await containerOf('e2e-app')).Id, app.Id, 'the container was not replaced')

    const removed = await cluster.mustMinga(0, ['rm', '-p', 'e2e'])
    assert.match(removed.stdout, 'acme/e2e-app: removed')
    assert.match(removed.stdout, 'acme/e2e-probe: removed')
    await cluster.waitFor('the project\'s containers are gone', async () => (await engine.api.containers({ label: ['io.minga.service'] })).length === 0, 60_000)
  })
})

test.run()

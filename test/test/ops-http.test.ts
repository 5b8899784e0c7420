/**
 * The node's HTTP listener on its own (no mesh): `--http` addresses, what
 * each path answers, refusals that say what to do, the DNS-rebinding guard
 * on loopback, and the dashboard's live stream.
 */
import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'node:http'
import { HttpServer, parseHttpAddress, dashboardPage } from '@minga/node'

test('--http takes ADDRESS:PORT, [v6]:PORT, :PORT, PORT or off, and says so otherwise', () => {
  assert.equal(parseHttpAddress('0.0.0.0:7948'), { host: '0.0.0.0', port: 7948 })
  assert.equal(parseHttpAddress('[::1]:9000'), { host: '::1', port: 9000 })
  assert.equal(parseHttpAddress(':7948'), { host: '127.0.0.1', port: 7948 })
  assert.equal(parseHttpAddress('7948'), { host: '127.0.0.1', port: 7948 })
  assert.is(parseHttpAddress('off'), undefined)
  for (const bad of ['bogus', '1.2.3.4:99999', '1:2:3', '']) {
    assert.throws(() => parseHttpAddress(bad), (err: Error) => err.name === 'BadRequestError' && /--http takes ADDRESS:PORT/.test(err.message), bad)
  }
})

async function get (url: string, options: { method?: string, host?: string } = {}): Promise<{ status: number, type: string, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', headers: options.host === undefined ? {} : { host: options.host } }, (res) => {
      let body = ''
      res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }))
    })
    req.on('error', reject).end()
  })
}

test('it serves the dashboard, /metrics, /healthz and the snapshot; refuses the rest clearly', async () => {
  let snapshots = 0
  const server = new HttpServer({
    address: { host: '127.0.0.1', port: 0 },
    metrics: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', text: 'minga_up 1\n' }),
    snapshot: async () => ({ n: ++snapshots }),
    page: dashboardPage,
    healthy: async () => ({ healthy: false, problems: ['1 node(s) dead'] })
  })
  const url = await server.listen()
  try {
    const page = await get(url)
    assert.is(page.status, 200)
    assert.match(page.type, /text\/html/)
    assert.match(page.body, /<title>minga dashboard<\/title>/)
    assert.not.match(page.body, /<script src=|<link /, 'self-contained')
    const metrics = await get(url + 'metrics')
    assert.is(metrics.status, 200)
    assert.match(metrics.type, /version=0\.0\.4/)
    assert.is(metrics.body, 'minga_up 1\n')
    assert.equal(JSON.parse((await get(url + 'healthz')).body), { healthy: false, problems: ['1 node(s) dead'] })
    assert.equal(JSON.parse((await get(url + 'api/snapshot')).body), { n: 1 })
    const missing = await get(url + 'nope')
    assert.is(missing.status, 404)
    assert.match(missing.body, /Nothing at \/nope: try \/ \(dashboard\) or \/metrics/)
    assert.is((await get(url + 'metrics', { method: 'POST' })).status, 405)
    const rebound = await get(url + 'metrics', { host: 'attacker.example' })
    assert.is(rebound.status, 403, 'a loopback listener answers loopback names only')
    assert.match(rebound.body, /answers only to localhost/)
    assert.is((await get(url + 'metrics', { host: 'localhost:1234' })).status, 200)

    // the live stream: a snapshot at once, then more
    const events = await new Promise<string>((resolve, reject) => {
      const req = request(url + 'api/stream', (res) => {
        assert.match(String(res.headers['content-type']), /text\/event-stream/)
        let text = ''
        res.setEncoding('utf8').on('data', (c: string) => {
          text += c
          if ((text.match(/event: snapshot/g) ?? []).length >= 2) { req.destroy(); resolve(text) }
        })
      })
      req.on('error', (err: any) => { if (err.code !== 'ECONNRESET') reject(err) }).end()
    })
    assert.match(events, /^event: snapshot\ndata: \{"n":\d+\}\n\n/)
  } finally {
    await server.close()
  }
})

test.run()

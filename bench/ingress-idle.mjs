// ingress-idle: forwarded connections that say nothing for an hour still work. Node A's published
// port → one libp2p stream → node B → the replica (bench/lib/ingress-pair.mjs); CONNECTIONS connections
// each echo once, stay silent for INGRESS_IDLE_SECONDS (default 3600, the issue's "no idle cut below an
// hour"), then echo again. Swarm's routing mesh cuts them after 900 s (moby/moby#31208); here Yamux's
// keep-alive pings (every 30 s) keep the mesh connection alive, forwarded streams have no inactivity
// timeout, and the client's socket has TCP keep-alive only. Reports how many survived.
import { loadavg } from 'node:os'
import net from 'node:net'
import { startPair } from './lib/ingress-pair.mjs'

const IDLE_SECONDS = Number(process.env.INGRESS_IDLE_SECONDS ?? 3600)
const CONNECTIONS = 4

const pair = await startPair()
try {
  const sockets = await Promise.all(Array.from({ length: CONNECTIONS }, () => new Promise((resolve, reject) => {
    const s = net.connect({ port: pair.published.echo, host: '127.0.0.1' }, () => resolve(s))
    s.once('error', reject)
  })))
  const closed = new Set()
  for (const s of sockets) {
    s.on('close', () => closed.add(s))
    s.on('error', () => {})
  }
  const echo = (s, text) => new Promise((resolve) => {
    if (closed.has(s)) { resolve(false); return }
    let got = ''
    const onData = (d) => { got += d; if (got === text) { s.off('data', onData); resolve(true) } }
    s.on('data', onData)
    s.once('close', () => resolve(false))
    s.write(text)
  })
  const before = await Promise.all(sockets.map(s => echo(s, 'before')))
  const started = Date.now()
  await new Promise(resolve => setTimeout(resolve, IDLE_SECONDS * 1000))
  const after = await Promise.all(sockets.map(s => echo(s, 'after')))
  console.log(JSON.stringify({
    name: 'ingress-idle',
    idleSeconds: Math.round((Date.now() - started) / 1000),
    connections: CONNECTIONS,
    answeredBefore: before.filter(Boolean).length,
    survived: after.filter(Boolean).length,
    load: loadavg().map(l => Number(l.toFixed(2)))
  }))
  for (const s of sockets) s.destroy()
} finally {
  await pair.stop()
}

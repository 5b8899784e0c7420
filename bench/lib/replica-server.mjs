// The "replica" of the ingress benchmarks, a process of its own: sink (counts bytes until FIN, answers
// the count), source (sends the number of bytes asked for), echo. Reports its ports over IPC.
import net from 'node:net'

const sink = net.createServer({ noDelay: true, allowHalfOpen: true }, (s) => {
  let n = 0
  s.on('data', (b) => { n += b.length })
  s.on('end', () => s.end(String(n)))
  s.on('error', () => {})
})
const chunk = Buffer.alloc(64 * 1024, 7)
const source = net.createServer({ noDelay: true }, (s) => {
  s.once('data', (b) => {
    let left = Number(b.toString())
    const pump = () => {
      while (left > 0) {
        const c = left >= chunk.length ? chunk : chunk.subarray(0, left)
        left -= c.length
        if (!s.write(c)) { s.once('drain', pump); return }
      }
      s.end()
    }
    pump()
  })
  s.on('error', () => {})
})
const echo = net.createServer({ noDelay: true }, (s) => { s.on('data', (b) => s.write(b)); s.on('error', () => {}) })
const listen = (server) => new Promise(resolve => server.listen(0, '127.0.0.1', () => resolve(server.address().port)))
process.send({ ports: { sink: await listen(sink), source: await listen(source), echo: await listen(echo) } })
process.on('message', (m) => {
  if (m?.cmd === 'exit') process.exit(0)
  if (m?.cmd === 'cpu') process.send({ cpu: process.cpuUsage() })
})

/**
 * Streams an async iterable to an HTTP response as newline-delimited JSON,
 * with backpressure: when the client reads slowly the iterable is not
 * pulled (and the logs readers behind it stop pulling from the nodes).
 * Writes of one tick go out together. The iterable ends when the client
 * goes away (`abort` is called).
 */
import { messageOf } from '@minga/protocol'
import type { ServerResponse } from 'node:http'

/**
 * Writes `items` to `res` as newline-delimited JSON until they end or the client goes (then `abort` aborts);
 * an error after the headers ends the stream with an `{ type: 'error' }` line
 */
export async function streamNdjson (res: ServerResponse, items: AsyncIterable<unknown>, abort: AbortController): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' })
  // headers now, so a follower that waits for its first line knows the request was accepted
  res.flushHeaders()
  const closed = new Promise<void>(resolve => res.once('close', () => { abort.abort(); resolve() }))
  let corked = false
  try {
    for await (const item of items) {
      if (res.destroyed) break
      if (!corked) {
        corked = true
        res.cork()
        setImmediate(() => { corked = false; res.uncork() })
      }
      if (!res.write(JSON.stringify(item) + '\n')) {
        await Promise.race([new Promise<void>(resolve => res.once('drain', () => resolve())), closed])
      }
    }
  } catch (err) {
    if (!res.destroyed) res.write(JSON.stringify({ type: 'notice', time: Date.now(), text: `stopped: ${messageOf(err)}` }) + '\n')
  } finally {
    res.end()
  }
}

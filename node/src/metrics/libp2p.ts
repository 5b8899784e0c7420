/**
 * libp2p's own metrics (connections, streams per protocol, bytes sent and
 * received, gossipsub) in the node's registry, through
 * @libp2p/prometheus-metrics, which works with libp2p v3. It also collects
 * the process and Node.js metrics into that registry.
 */
import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import type { Registry } from 'prom-client'

/** libp2p's own metrics (connections, streams, protocols) into `registry` */
export function libp2pMetrics (registry: Registry): ReturnType<typeof prometheusMetrics> {
  // it keeps its metric objects in a module-wide map: a new host starts that map afresh (it also clears
  // prom-client's global registry, which minga does not use), so several nodes in one process each get their own
  return prometheusMetrics({ registry, collectDefaultMetrics: true, preserveExistingMetrics: false })
}

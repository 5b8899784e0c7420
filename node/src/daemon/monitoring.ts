/**
 * Monitoring for the daemon: the node's metrics registry (minga's series
 * and libp2p's) and the HTTP listener for /metrics and the dashboard.
 */
import { messageOf, codeOf } from '@minga/protocol'
import { Registry } from 'prom-client'
import type { Operations } from '../core/ops/operations.js'
import { DashboardData } from '../dashboard/snapshot.js'
import { dashboardPage } from '../dashboard/page.js'
import { nodeMetrics, type MetricsComponents } from '../metrics/metrics.js'

/** what monitoring reads: the metrics' components and the operator's views */
export interface MonitoringComponents extends MetricsComponents {
  operations: Operations
}
import { DEFAULT_HTTP_ADDRESS, HttpServer, parseHttpAddress } from './http-server.js'

/** the registry every metric of this node goes into; create it before libp2p, which registers into it too */
export function metricsRegistry (): Registry {
  return new Registry()
}

/**
 * minga's series into `registry`, and the HTTP listener on `http` (default
 * 127.0.0.1:7948; 'off' for none). A busy default port is a warning: several
 * nodes on one machine (tests, trying minga out) each still start; an
 * address the operator chose must work
 */
export async function startMonitoring (core: MonitoringComponents, registry: Registry, options: { http?: string, version: string, log: (line: string) => void }): Promise<HttpServer | undefined> {
  nodeMetrics(core, { registry, version: options.version })
  const address = parseHttpAddress(options.http ?? DEFAULT_HTTP_ADDRESS)
  if (address === undefined) return undefined
  const data = new DashboardData(core.operations, core.state.meshId)
  const server = new HttpServer({
    address,
    metrics: async () => ({ contentType: registry.contentType, text: await registry.metrics() }),
    snapshot: async () => await data.snapshot(),
    page: dashboardPage,
    healthy: async () => {
      const status = await core.operations.status()
      return { healthy: status.healthy, problems: status.problems }
    }
  })
  try {
    options.log(`http on ${await server.listen()} (dashboard; metrics at /metrics)`)
    return server
  } catch (err) {
    if (options.http !== undefined || codeOf(err) !== 'EADDRINUSE') throw new Error(`Cannot listen for HTTP on ${address.host}:${address.port}: ${messageOf(err)}; pick another with --http ADDRESS:PORT, or --http off`)
    options.log(`warning: ${DEFAULT_HTTP_ADDRESS} is taken (another node on this machine?); no dashboard or /metrics here. Use --http 127.0.0.1:PORT`)
    return undefined
  }
}

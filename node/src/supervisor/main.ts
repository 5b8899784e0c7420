/**
 * The supervisor process: `node main.js CONFIG_JSON`, started by the daemon
 * (link.ts) in a session of its own, its output appended to
 * DATA/supervisor.log. It loads no libp2p, no dockerode and no protocol
 * package: ~40 MB of resident memory (`npm run bench -- supervisor`).
 *
 * SIGTERM, SIGINT and SIGHUP do not end it: a service manager that stops
 * the whole unit (systemd's default KillMode=control-group) gets the node's
 * containers stopped first, and then the supervisor exits by itself.
 */
import { writeFile, unlink, readFile } from 'node:fs/promises'
import { systemClock } from '../core/clock.js'
import { DEFAULT_SUPERVISOR_BUDGET, type SupervisorBudget } from '../core/supervision/budget.js'
import { Watchdog } from '../core/supervision/watchdog.js'
import { engineAddress } from '../runtime/docker-address.js'
import { BondServer } from './bond-server.js'
import { SupervisorDocker } from './docker-engine.js'
import { ProcReaper } from './proc-reaper.js'
import { saveRounds } from './rounds.js'

export interface SupervisorConfig {
  socketPath: string
  pidPath: string
  meshId: string
  nodeId: string
  /** the engine's socket path or tcp:// address, as the daemon was given it */
  engine?: string
  budget?: Partial<SupervisorBudget>
  firstAttachMs?: number
  lingerMs?: number
  /** where the rounds no daemon heard are kept when this process exits (rounds.ts) */
  roundsPath?: string
}

function log (line: string): void {
  process.stdout.write(`${new Date().toISOString()} supervisor ${process.pid}: ${line}\n`)
}

async function main (): Promise<void> {
  const config = JSON.parse(process.argv[2] ?? '{}') as SupervisorConfig
  const budget: SupervisorBudget = { ...DEFAULT_SUPERVISOR_BUDGET, ...config.budget }
  const address = engineAddress(config.engine)
  const exit = async (code: number): Promise<void> => {
    await server.close()
    // what it stopped with no daemon to tell: kept for the next one
    if (config.roundsPath !== undefined) await saveRounds(config.roundsPath, watchdog.history())
    // the pid file names this process only while it is ours
    if ((await readFile(config.pidPath, 'utf8').catch(() => '')).trim() === String(process.pid)) await unlink(config.pidPath).catch(() => {})
    process.exit(code)
  }
  const watchdog = new Watchdog({
    engine: new SupervisorDocker({ address, meshId: config.meshId, nodeId: config.nodeId }),
    reaper: new ProcReaper(),
    clock: systemClock,
    budget,
    firstAttachMs: config.firstAttachMs,
    lingerMs: config.lingerMs,
    log,
    onDone: () => { void exit(0) }
  })
  // a bug must not end the one process that stops the containers of a dead daemon: say it, carry on
  process.on('uncaughtException', (err) => log(`unexpected error (carrying on): ${err.stack ?? err.message}`))
  process.on('unhandledRejection', (err) => log(`unexpected error (carrying on): ${String(err)}`))
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => { log(`${signal}: stopping this node's containers once its daemon is gone, then exiting`); watchdog.terminate() })
  }
  const server = new BondServer({ socketPath: config.socketPath, meshId: config.meshId, nodeId: config.nodeId, engine: address.label, watchdog, budget, log })
  if (!await server.listen()) {
    log(`another supervisor answers on ${config.socketPath}; exiting`)
    process.exit(0)
  }
  await writeFile(config.pidPath, `${process.pid}\n`, { mode: 0o600 })
  watchdog.start()
  log(`guarding node ${config.nodeId} of mesh ${config.meshId} on the engine at ${address.label}`)
}

main().catch((err) => {
  log(`cannot start: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})

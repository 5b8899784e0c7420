/** minga sim: network simulations of a whole mesh in virtual time (loads the simulator only when run) */
import { nameOf, messageOf, codeOf } from '@minga/protocol'
import type { Command } from 'commander'
import { CliError, EXIT } from './errors.js'

/** `minga sim` on `program` */
export function simCommands (program: Command): void {
  program.command('sim')
    .description('simulate a mesh of many nodes in virtual time (churn, partitions, organization loss) and write a JSON summary and an HTML report')
    .argument('<scenario>', 'scenario file (YAML), e.g. simulations/scenarios/partition-1000.yaml')
    .option('--seed <n>', 'random seed: one seed, one run (default: the scenario\'s)')
    .option('--out <dir>', 'where to write summary.json and report.html (default: sim-out/NAME-SEED)')
    .option('--fuzz <n>', 'run N seeds of random faults on this mesh; print the seeds that break an invariant')
    .option('--real <file>', 'figures measured with real nodes (JSON) to show beside the simulation\'s')
    .option('--json', 'print the summary as JSON')
    .addHelpText('after', '\nExamples:\n  minga sim simulations/scenarios/partition-1000.yaml --seed 7 --out sim-out/partition\n  minga sim simulations/scenarios/deploy-kill-10.yaml --fuzz 50')
    .action(async (file: string, options) => {
      const sim = await import('@minga/simulations')
      let scenario
      try {
        scenario = await sim.loadScenario(file)
      } catch (err) {
        if (nameOf(err) === 'ScenarioError' || codeOf(err) === 'ENOENT') throw new CliError(codeOf(err) === 'ENOENT' ? `No scenario file at ${file}` : messageOf(err), EXIT.usage)
        throw err
      }
      const seed = options.seed === undefined ? undefined : Number(options.seed)
      if (seed !== undefined && !Number.isSafeInteger(seed)) throw new CliError(`--seed must be a whole number, not ${options.seed}`, EXIT.usage)
      const progress = progressLine()
      if (options.fuzz !== undefined) {
        const count = Number(options.fuzz)
        if (!Number.isSafeInteger(count) || count < 1) throw new CliError(`--fuzz must be a whole number of runs, not ${options.fuzz}`, EXIT.usage)
        const broken: number[] = []
        await sim.fuzz(scenario, count, {
          firstSeed: seed ?? 1,
          onProgress: p => { progress(`fuzz: ${p.phase} ${Math.round(p.elapsed / 1000)}/${Math.round(p.total / 1000)} s virtual`) },
          onRun: outcome => {
            progress('')
            if (outcome.ok) {
              process.stderr.write(`seed ${outcome.seed}: ok (${(outcome.result.summary.speed.wallMs / 1000).toFixed(1)} s)\n`)
            } else {
              broken.push(outcome.seed)
              process.stdout.write(`seed ${outcome.seed} broke an invariant:\n  ${outcome.violations.slice(0, 5).join('\n  ')}\n  replay: minga sim ${file} --fuzz 1 --seed ${outcome.seed}\n`)
            }
          }
        })
        process.stdout.write(broken.length === 0 ? `${count} fuzzed run(s), every invariant held\n` : `${broken.length} of ${count} fuzzed run(s) broke an invariant: seeds ${broken.join(', ')}\n`)
        if (broken.length > 0) process.exitCode = EXIT.failure
        return
      }
      if (seed !== undefined) scenario = { ...scenario, seed }
      const real = options.real === undefined ? undefined : JSON.parse(await (await import('node:fs/promises')).readFile(options.real, 'utf8'))
      const result = await sim.runScenario(scenario, {
        onProgress: p => { progress(`${scenario.name}: ${p.phase} ${Math.round(p.elapsed / 1000)}/${Math.round(p.total / 1000)} s virtual, ${p.events} events, ${(p.wallMs / 1000).toFixed(0)} s wall`) }
      })
      progress('')
      const out = options.out ?? `sim-out/${scenario.name}-${scenario.seed}`
      const written = await sim.writeResults(result, out, real)
      const s = result.summary
      if (options.json === true) {
        process.stdout.write(JSON.stringify(s, null, 2) + '\n')
      } else {
        process.stdout.write([
          `${s.scenario} (seed ${s.seed}): ${s.nodes} nodes, ${s.virtualSeconds} s virtual in ${(s.speed.wallMs / 1000).toFixed(1)} s`,
          `availability   mean ${(s.availability.mean * 100).toFixed(3)}%, min ${(s.availability.min * 100).toFixed(3)}%`,
          `convergence    p50 ${sim.formatDuration(s.convergenceMs.p50)}, p99 ${sim.formatDuration(s.convergenceMs.p99)} (${s.convergenceMs.n} changes, ${s.convergenceMs.never} never)`,
          `moved/optimal  ${s.moved.ratio ?? '–'}    singleton violations ${s.singletonViolations}`,
          `traffic        ${Math.round(s.traffic.bytesPerNodePerSec.mean)} B/s per node`,
          ...(s.ingress === undefined ? [] : [`routing mesh   ${sim.ingressLine(s.ingress)}`]),
          ...(s.volumes === undefined ? [] : [`volumes        ${s.volumes.snapshots} snapshots (p50 ${sim.formatDuration(s.volumes.snapshotMs.p50)}), ${s.volumes.restores} restores (p50 ${sim.formatDuration(s.volumes.restoreMs.p50)}), ${s.volumes.asides} kept aside, ${s.volumes.lost} lost, ${s.volumes.staleStarts} started on an older volume`]),
          `invariants     ${s.invariants.ok ? 'all held' : s.invariants.violations.map(v => `${v.invariant}: ${v.detail}`).join('\n               ')}`,
          `report         ${written.report}`,
          ''
        ].join('\n'))
      }
      if (!s.invariants.ok) process.exitCode = EXIT.failure
    })
}

/** one status line on a terminal, rewritten in place; elsewhere a line every 10 s */
function progressLine (): (text: string) => void {
  const tty = process.stderr.isTTY === true
  let last = 0
  return (text: string) => {
    if (tty) { process.stderr.write(`\r\x1b[K${text}`); return }
    const now = Date.now()
    if (text !== '' && now - last >= 10_000) { last = now; process.stderr.write(`${text}\n`) }
  }
}

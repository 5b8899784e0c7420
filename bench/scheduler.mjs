// Scheduler benchmarks: placement speed at mesh scale, and how many replicas
// move when one node leaves or joins. One JSON object per line.
//   npx tsc -b scheduler && node bench/scheduler.mjs
//
// churn ratio = replicas moved / the least that must move: for a leave (the
// node removed) or a loss (the node a member that is not live), the replicas the leaver held; for a join, the replicas the joiner receives.
// Each churn figure sums CHURN_SAMPLES different leavers (or joiners).
import { place, movedReplicas, replicasOn } from '../scheduler/dist/src/index.js'
import { makeWorkload } from './scheduler-workload.mjs'
import { median } from './lib/stats.mjs'

const RUNS = 7
const CHURN_SAMPLES = 20
const SHAPE = { services: 10_000, replicas: 30_000, nodes: 1_000, orgs: 50, seed: 1 }

function round (x, digits = 3) {
  return Math.round(x * 10 ** digits) / 10 ** digits
}

/** share of the mesh's cpu and memory that placed replicas request */
function usage (services, nodes, assignment) {
  const spec = new Map(services.map(s => [s.id, s.spec]))
  let cpu = 0
  let memory = 0
  for (const [id, slots] of Object.entries(assignment.services)) {
    const placed = slots.filter(n => n !== null).length
    cpu += placed * spec.get(id).resources.cpu
    memory += placed * spec.get(id).resources.memory
  }
  const cpuTotal = nodes.reduce((sum, n) => sum + n.capacity.cpu, 0)
  const memoryTotal = nodes.reduce((sum, n) => sum + n.capacity.memory, 0)
  return { cpuUsed: round(cpu / cpuTotal, 2), memoryUsed: round(memory / memoryTotal, 2) }
}

function benchPlace ({ services, nodes, orgs }) {
  place(services, nodes) // warm-up
  place(services, nodes)
  const times = []
  const cpuTimes = []
  let assignment
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    const c0 = process.cpuUsage()
    assignment = place(services, nodes)
    const c = process.cpuUsage(c0)
    times.push(performance.now() - t0)
    cpuTimes.push((c.user + c.system) / 1000)
  }
  const ms = median(times)
  const replicas = services.reduce((n, s) => n + s.spec.replicas, 0)
  console.log(JSON.stringify({
    name: 'place-10k-1k',
    ms: round(ms, 1),
    // cpu time of the process: steadier than wall time on a shared machine
    cpuMs: round(median(cpuTimes), 1),
    placementsPerSec: Math.round(replicas / ms * 1000),
    services: services.length,
    replicas,
    nodes: nodes.length,
    orgs,
    unplaced: assignment.unplaced.length,
    ...usage(services, nodes, assignment)
  }))
  return assignment
}

// a leave: the node is removed (placed without it); a loss (`lost: true`): it is a member that is not live (`absent`)
function benchLeave (name, { services, nodes }, before, lost = false) {
  let moved = 0
  let optimal = 0
  for (let k = 0; k < CHURN_SAMPLES; k++) {
    const leaver = nodes[(k * 97 + 13) % nodes.length]
    const after = place(services, nodes.filter(n => n !== leaver), lost ? { absent: [leaver] } : {})
    moved += movedReplicas(before, after).length
    optimal += replicasOn(before, leaver.id).length
  }
  console.log(JSON.stringify({ name, samples: CHURN_SAMPLES, moved, optimal, ratio: round(moved / optimal), ...usage(services, nodes, before) }))
}

function benchJoin (name, { services, nodes }, before) {
  let moved = 0
  let optimal = 0
  for (let k = 0; k < CHURN_SAMPLES; k++) {
    // a twin of an existing node (same org, size and labels) under a new id
    const joiner = { ...nodes[(k * 131 + 7) % nodes.length], id: `joiner-${k}` }
    const after = place(services, [...nodes, joiner])
    moved += movedReplicas(before, after).length
    optimal += replicasOn(after, joiner.id).length
  }
  console.log(JSON.stringify({ name, samples: CHURN_SAMPLES, moved, optimal, ratio: round(moved / optimal), ...usage(services, nodes, before) }))
}

const mesh = makeWorkload(SHAPE)
const assignment = benchPlace(mesh)
benchLeave('churn-leave-1k', mesh, assignment)
benchLeave('churn-loss-1k', mesh, assignment, true)
benchJoin('churn-join-1k', mesh, assignment)

// the same mesh with bigger requests: fuller nodes spill more, and spills cascade
const hot = makeWorkload({ ...SHAPE, cpuPower: 2 })
const hotAssignment = place(hot.services, hot.nodes)
benchLeave('churn-leave-1k-hot', hot, hotAssignment)
benchLeave('churn-loss-1k-hot', hot, hotAssignment, true)
benchJoin('churn-join-1k-hot', hot, hotAssignment)

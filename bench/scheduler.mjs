// Scheduler benchmarks: placement speed at mesh scale, and how many replicas
// move when one node leaves or joins. One JSON object per line.
//   node bench/scheduler.mjs            (after `npx tsc -b scheduler`)
import { place, movedReplicas, replicasOn } from '../scheduler/dist/src/index.js'
import { makeWorkload } from './scheduler-workload.mjs'

const RUNS = 5
const CHURN_SAMPLES = 10

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]
}

function benchPlace () {
  const { services, nodes, orgs } = makeWorkload({ services: 10_000, replicas: 30_000, nodes: 1_000, orgs: 50, seed: 1 })
  place(services, nodes) // warm-up
  place(services, nodes)
  const times = []
  let assignment
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now()
    assignment = place(services, nodes)
    times.push(performance.now() - t0)
  }
  const ms = median(times)
  const replicas = services.reduce((n, s) => n + s.spec.replicas, 0)
  console.log(JSON.stringify({
    name: 'place-10k-1k',
    ms: Math.round(ms * 10) / 10,
    placementsPerSec: Math.round(replicas / ms * 1000),
    services: services.length,
    replicas,
    nodes: nodes.length,
    orgs,
    unplaced: assignment.unplaced.length
  }))
  return { services, nodes, assignment }
}

function benchLeave ({ services, nodes, assignment }) {
  let moved = 0
  let optimal = 0
  for (let k = 0; k < CHURN_SAMPLES; k++) {
    const leaver = nodes[(k * 97 + 13) % nodes.length]
    const after = place(services, nodes.filter(n => n !== leaver))
    moved += movedReplicas(assignment, after).length
    optimal += replicasOn(assignment, leaver.id).length
  }
  console.log(JSON.stringify({ name: 'churn-leave-1k', samples: CHURN_SAMPLES, moved, optimal, ratio: round(moved / optimal) }))
}

function benchJoin ({ services, nodes, assignment }) {
  let moved = 0
  let optimal = 0
  for (let k = 0; k < CHURN_SAMPLES; k++) {
    const joiner = { ...nodes[(k * 131 + 7) % nodes.length], id: `joiner-${k}` }
    const after = place(services, [...nodes, joiner])
    moved += movedReplicas(assignment, after).length
    optimal += replicasOn(after, joiner.id).length
  }
  console.log(JSON.stringify({ name: 'churn-join-1k', samples: CHURN_SAMPLES, moved, optimal, ratio: round(moved / optimal) }))
}

function round (x) {
  return Math.round(x * 1000) / 1000
}

const base = benchPlace()
benchLeave(base)
benchJoin(base)

// A realistic, seeded mesh for the scheduler benchmarks: mixed node sizes,
// skewed org sizes, mostly small services with 1–3 replicas, some constraints,
// shares, accept lists and host ports. CPU is the binding resource: about half
// of it is requested with the default cpuPower 3 (mean request 162m), about
// 63% with cpuPower 2 (mean 200m), the "hot" variant.
const GIB = 1024 ** 3
const MIB = 1024 ** 2

export function mulberry32 (seed) {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

// servers come with 2 or 4 GiB per core: 4 cores/8 GiB up to 16 cores/64 GiB
function capacityOf (cores, gibPerCore) {
  return { cpu: cores * 1000, memory: cores * gibPerCore * GIB }
}

export function makeWorkload ({ services: serviceCount, replicas: replicaTotal, nodes: nodeCount, orgs: orgCount, seed, cpuPower = 3 }) {
  const rand = mulberry32(seed)
  const pick = xs => xs[Math.floor(rand() * xs.length)]
  const orgs = Array.from({ length: orgCount }, (_, i) => `org-${String(i).padStart(2, '0')}`)
  // a few large orgs, many small ones
  const orgOf = () => orgs[Math.floor(rand() ** 1.6 * orgCount)]

  const nodes = []
  for (let i = 0; i < nodeCount; i++) {
    const org = orgOf()
    const node = {
      id: `node-${String(i).padStart(4, '0')}-${Math.floor(rand() * 1e9).toString(36)}`,
      org,
      capacity: capacityOf(pick([4, 8, 8, 12, 16]), pick([2, 4, 4])),
      labels: { disk: rand() < 0.6 ? 'ssd' : 'hdd', zone: `zone-${Math.floor(rand() * 5)}` },
      cordoned: rand() < 0.01
    }
    if (rand() < 0.05) node.labels.gpu = 'true'
    if (rand() < 0.2) node.shareForOthers = 0.5
    if (rand() < 0.05) node.acceptOrgs = [org, pick(orgs), pick(orgs)]
    nodes.push(node)
  }

  const counts = Array.from({ length: serviceCount }, () => {
    const x = rand()
    return x < 0.2 ? 1 : x < 0.4 ? 2 : x < 0.7 ? 3 : x < 0.85 ? 4 : 6
  })
  // nudge counts until they sum to replicaTotal
  let sum = counts.reduce((a, b) => a + b, 0)
  for (let i = 0; sum !== replicaTotal; i = (i + 1) % serviceCount) {
    if (sum > replicaTotal && counts[i] > 1) { counts[i]--; sum-- } else if (sum < replicaTotal && counts[i] < 6) { counts[i]++; sum++ }
  }

  const services = []
  for (let i = 0; i < serviceCount; i++) {
    const org = orgOf()
    const name = `svc-${i}`
    const constraints = {}
    const c = rand()
    if (c < 0.1) constraints.disk = 'ssd'
    else if (c < 0.13) constraints.zone = `zone-${Math.floor(rand() * 5)}`
    else if (c < 0.14) constraints.gpu = 'true'
    const spec = {
      name,
      org,
      image: `registry.example/${org}/${name}:1`,
      env: {},
      replicas: counts[i],
      resources: { cpu: 50 + Math.round(rand() ** cpuPower * 45) * 10, memory: (64 + Math.round(rand() ** 2 * 448)) * MIB },
      spread: rand() < 0.9 ? 'org' : 'node',
      constraints,
      ports: rand() < 0.02 ? [{ container: 80, host: pick([80, 443, 8080]), protocol: 'tcp' }] : [],
      update: { maxUnavailable: 1 },
      singleton: false,
      volumes: []
    }
    if (rand() < 0.05) spec.allowOrgs = [org, pick(orgs), pick(orgs)]
    services.push({ id: `${org}/${name}`, spec, created: `2026-01-01T00:00:00.000Z#${String(i).padStart(6, '0')}`, hash: `h${i}` })
  }
  return { services, nodes, orgs: orgCount }
}

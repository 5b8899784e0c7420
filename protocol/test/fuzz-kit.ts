/**
 * What other packages' fuzz tests share with these (package export `@minga/protocol/fuzz`): the runner, the byte
 * mutator, the target shape, and the process's CPU time (`cpuMs`: bad input's cost is bounded in CPU, not wall, time)
 */
export { fuzz, heapGrowth, type FuzzReport } from './fuzz-harness.js'
export { cpuMs } from './fixtures.js'
export { mutated, type FuzzTarget } from './fuzz-targets.js'

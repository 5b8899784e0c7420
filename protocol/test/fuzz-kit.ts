/** What other packages' fuzz tests share with these (package export `@minga/protocol/fuzz`): the runner, the byte mutator, the target shape */
export { fuzz, heapGrowth, type FuzzReport } from './fuzz-harness.js'
export { mutated, type FuzzTarget } from './fuzz-targets.js'

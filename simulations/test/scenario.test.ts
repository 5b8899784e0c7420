import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync } from 'node:fs'
import { loadScenario, parseScenario } from '../src/index.js'
import { SCENARIOS } from './helpers.js'

test('every shipped scenario parses', async () => {
  for (const file of readdirSync(SCENARIOS).filter(f => f.endsWith('.yaml'))) {
    const s = await loadScenario(`${SCENARIOS}${file}`)
    assert.is(s.name, file.replace(/\.yaml$/, ''), file)
    assert.ok(s.nodes >= 3, file)
  }
})

test('a bad scenario gets every problem listed with its path', () => {
  try {
    parseScenario('name: x\nmesh: { nodes: 5, orgs: 2, colour: red }\nduration: soon\ntimeline:\n  - at: 10s\n    kill: { nodes: 0 }\n  - at: 5s\n', 'bad.yaml')
    assert.unreachable()
  } catch (err: any) {
    assert.is(err.name, 'ScenarioError')
    assert.match(err.message, /bad\.yaml is not a valid scenario/)
    assert.match(err.message, /mesh\.colour: unknown field/)
    assert.match(err.message, /duration: must be a duration like 500ms, 1h30m or 365d, not "soon"/)
    assert.match(err.message, /timeline\[0\]\.kill\.nodes: expected a whole number from 1/)
    assert.match(err.message, /timeline\[1\]: expected exactly one action/)
  }
})

test('durations follow the one grammar: 1h30m and 0.2ms latencies (not rounded to 0), no unit-less numbers', () => {
  const s = parseScenario('name: x\nmesh: { nodes: 10, orgs: 2 }\nduration: 1h30m\nnetwork: { latency: { sameOrg: 0.2ms } }\n')
  assert.is(s.duration, 5_400_000)
  assert.is(s.network.sameOrg.median, 0.2)
  assert.throws(() => parseScenario('name: x\nmesh: { nodes: 10, orgs: 2 }\nsettle: 300\n'), /settle: must be a duration like .*, not 300/)
})

test('missing essentials are named', () => {
  assert.throws(() => parseScenario('name: x\n'), /mesh\.nodes: missing/)
  assert.throws(() => parseScenario(': : :'), /not valid YAML|name/)
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { readdirSync } from 'node:fs'
import { loadScenario, parseScenario } from '../src/index.js'
import { SCENARIOS } from './helpers.js'

test('every shipped scenario parses', async () => {
  for (const file of readdirSync(SCENARIOS).filter(f => f.endsWith('.yaml'))) {
    const s = await loadScenario(`${SCENARIOS}${file}`)
    assert.ok(s.nodes >= 10, file)
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
    assert.match(err.message, /duration: expected a duration like 500ms/)
    assert.match(err.message, /timeline\[0\]\.kill\.nodes: expected a whole number from 1/)
    assert.match(err.message, /timeline\[1\]: expected exactly one action/)
  }
})

test('missing essentials are named', () => {
  assert.throws(() => parseScenario('name: x\n'), /mesh\.nodes: missing/)
  assert.throws(() => parseScenario(': : :'), /not valid YAML|name/)
})

test.run()

import { test } from 'uvu'
import * as assert from 'uvu/assert'
import { rendezvousChoice, rendezvousOrder } from '../src/index.js'

const nodes = Array.from({ length: 20 }, (_, i) => `node-${i}`)
const duties = Array.from({ length: 400 }, (_, i) => `source/acme/repo-${i}`)

test('every node picks the same holder whatever the order of the candidates', () => {
  for (const duty of duties.slice(0, 50)) assert.is(rendezvousChoice(duty, [...nodes].reverse()), rendezvousChoice(duty, nodes))
  assert.is(rendezvousChoice('x', []), undefined)
})

test('when a holder goes, only its duties move, each to its next candidate', () => {
  const before = new Map(duties.map(d => [d, rendezvousOrder(d, nodes)]))
  const gone = 'node-7'
  const rest = nodes.filter(n => n !== gone)
  let moved = 0
  for (const duty of duties) {
    const order = before.get(duty)!
    const now = rendezvousChoice(duty, rest)
    if (order[0] === gone) { moved++; assert.is(now, order[1]) } else assert.is(now, order[0])
  }
  assert.ok(moved > 5 && moved < 45, `about 1/20 of 400 duties move (${moved})`)
})

test('duties spread over the candidates', () => {
  const counts = new Map<string, number>()
  for (const duty of duties) counts.set(rendezvousChoice(duty, nodes)!, (counts.get(rendezvousChoice(duty, nodes)!) ?? 0) + 1)
  assert.is(counts.size, 20)
  assert.ok(Math.max(...counts.values()) < 45)
})

test.run()

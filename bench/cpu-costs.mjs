// cpu-costs: what each step of the simulator's CPU model (node/src/core/cpu-model.ts) costs a real node process on
// this machine, measured the way simulations/scenarios/deploy-kill-10.yaml's `cpu:` figures were:
//   message: a request and its answer between two real libp2p hosts in this process (Noise, yamux, the private
//            network, minga's shared request stream), 2,000 round trips after 300 of warm-up: CPU per round trip / 2
//   write:   a warm `POST /v1/deploy` of one service on a real node (ten in the mesh): that process's CPU over the
//            request, less its idle CPU over as long, the mean of 8, one every 2 s (before, the median answer time
//            of 5: the wall time, which on a loaded machine is not CPU: 17 ms once, 74 ms at a load of 12)
//   gossip, pass: the ten processes' CPU in the 3 s after sim-vs-real's deploy (4 services posted at once to one
//            node), beyond their CPU in the 3 s before, less the writes and the messages the model counts for that
//            deploy; what is left per node, split between the model's entries and passes as a profile of that
//            deploy splits them (entries 1.2 : passes 1; simulations/README.md, "A CPU model")
//   dial:    a connection's life between the same two hosts, per end: a request that dials first, then the close as
//            the trim closes it, 100 lives after 20 of warm-up, less the request's two messages: CPU per life / 2
//   close:   the survivors' CPU from a kill -9 of a node that runs nothing to 100 ms after it died, beyond their idle
//            (libp2p's teardown of the connection, the verdict), per survivor, median of 3 kills (13 nodes, nothing
//            deployed yet, the last three killed one after another)
//   idle:    ms of one core a second: the ten processes' CPU over 3 s with nothing happening, per node and second,
//            less what the model charges an idle node as steps (its probes' messages, counted before the deploy):
//            gossipsub's heartbeats, libp2p's timers, the collector (CpuModel.idle)
// Prints one line: {"name":"cpu-costs", message, write, gossip, pass, close, dial (ms of one core), idle (ms of one core a
// second), and the raw figures}.
//   npx tsc -b && node bench/cpu-costs.mjs
import { measureCpuCosts } from './lib/cpu-costs.mjs'

console.log(JSON.stringify({ name: 'cpu-costs', ...await measureCpuCosts() }))

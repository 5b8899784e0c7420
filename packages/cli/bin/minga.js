#!/usr/bin/env node
// The installed `minga` command: runs the compiled CLI (build it with `npm run build` at the top of the repo).
import { setFlagsFromString } from 'node:v8'

// `minga up` runs for months and allocates little but steadily. V8 would grow its young generation (1 MiB
// semi-spaces at start, up to 16 MiB) while the CLI and the node load their ~1,000 modules, and keep it:
// 6 MiB of resident memory an idle node never needs. A growth factor of 1 keeps the semi-spaces at their
// initial size; V8 reads it at each growth, so it works from here (--max-semi-space-size would not: V8
// reads that only when the heap is set up). Set before anything loads; other verbs (sim!) keep V8's default.
// An idle node's live heap stays at ~25 MB (sampled after each full collection over minutes: no leak), but
// V8 lets the old generation grow by at least 8 MB past it before the next full collection, and compiles
// for speed: RSS rose and fell between 89 and 103 MB. --optimize-for-size makes V8 favour memory (a 2 MB
// step and a smaller growth factor for the old generation, smaller code); it is read at each collection.
// Side by side, five idle nodes each: 89–98 MB against 89–103 MB, over 5 minutes.
if (process.argv.slice(2).includes('up')) {
  setFlagsFromString('--semi-space-growth-factor=1')
  setFlagsFromString('--optimize-for-size')
}

import('../dist/src/bin.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/bin.js')) {
    process.stderr.write('minga: the CLI is not built yet; run "npm run build" in the minga checkout\n')
    process.exit(1)
  }
  throw err
})

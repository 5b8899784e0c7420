#!/usr/bin/env node
// The installed `minga` command: runs the compiled CLI (build it with `npm run build` at the top of the repo).
import('../dist/src/bin.js').catch((err) => {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/src/bin.js')) {
    process.stderr.write('minga: the CLI is not built yet; run "npm run build" in the minga checkout\n')
    process.exit(1)
  }
  throw err
})

/**
 * Tests that need something this machine may lack (Docker engines, Chromium,
 * libfaketime). Without it, each such test is registered as skipped, so the
 * run's summary counts it under "Skipped" (never as passed), and the reason is
 * printed once as "skipped: …". Under CI (`CI` set) a missing requirement
 * fails each test instead: CI must run them all.
 */
import { test, type Callback, type Context } from 'uvu'

type Register = (name: string, fn: Callback<Context>) => void

/** true when CI is set: a missing Docker engine, Chromium or libfaketime is then a failure, not a skip */
export function isCi (): boolean {
  const ci = process.env.CI
  return ci !== undefined && ci !== '' && ci !== 'false'
}

/** `test`, or a registrar of skipped (or, under CI, failing) tests when `missing` says what is missing */
export function testIf (missing: string | undefined): Register {
  if (missing === undefined) return test
  if (isCi()) return (name) => test(name, () => { throw new Error(`${missing}; CI must provide it`) })
  console.log(`skipped: ${missing}`)
  return (name, fn) => test.skip(name, fn)
}

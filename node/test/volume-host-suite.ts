/**
 * One conformance suite for VolumeHost: the folder twin and Docker's named
 * volumes must do the same things (create, find, move aside, remove).
 */
import * as assert from 'uvu/assert'
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { VolumeHost } from '../src/core/volumes/host.js'
import { asideName } from '../src/core/volumes/host.js'

export function runVolumeHostTests (register: (name: string, fn: () => Promise<void>) => void, label: string, setup: () => Promise<{ host: VolumeHost, prefix: string, cleanup: () => Promise<void> }>): void {
  register(`${label}: a created volume has a folder, lists with its labels, and is removed`, async () => {
    const { host, prefix, cleanup } = await setup()
    const name = `${prefix}-acme-db-pgdata`
    assert.is(await host.path(name), undefined)
    const path = await host.create(name, { service: 'acme/db', volume: 'pgdata' })
    assert.is(await host.path(name), path)
    assert.is(await host.create(name, { service: 'acme/db', volume: 'pgdata' }), path, 'create is idempotent')
    await writeFile(join(path, 'x'), 'data')
    const listed = (await host.list()).find(v => v.name === name)
    assert.equal(listed, { name, service: 'acme/db', volume: 'pgdata' })
    await host.remove(name)
    assert.is(await host.path(name), undefined)
    await host.remove(name)
    await cleanup()
  })

  register(`${label}: keeping a copy aside moves its files into a labelled volume and leaves the original empty`, async () => {
    const { host, prefix, cleanup } = await setup()
    const name = `${prefix}-acme-db-pgdata`
    const path = await host.create(name, { service: 'acme/db', volume: 'pgdata' })
    await mkdir(join(path, 'base'))
    await writeFile(join(path, 'base', 'table'), 'rows')
    await writeFile(join(path, 'lines.log'), 'line 1\n')
    const at = Date.UTC(2026, 10, 29, 18, 6, 0)
    const aside = asideName(name, at)
    assert.is(aside, `${name}.aside-20261129T180600Z`)
    await host.keepAside(name, aside, { service: 'acme/db', volume: 'pgdata', info: { of: name, at, reason: 'diverged' } })
    assert.equal(await readdir(path), [])
    const asidePath = await host.path(aside)
    assert.ok(asidePath !== undefined)
    assert.is(await readFile(join(asidePath, 'base', 'table'), 'utf8'), 'rows')
    assert.is(await readFile(join(asidePath, 'lines.log'), 'utf8'), 'line 1\n')
    const listed = (await host.list()).find(v => v.name === aside)
    assert.equal(listed, { name: aside, service: 'acme/db', volume: 'pgdata', aside: { of: name, at, reason: 'diverged' } })
    await host.remove(aside)
    await host.remove(name)
    await cleanup()
  })
}

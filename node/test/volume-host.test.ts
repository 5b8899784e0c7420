/** VolumeHost conformance: folders always, Docker's named volumes on an engine (MINGA_TEST_DOCKER_HOST) */
import { test } from 'uvu'
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { DockerVolumes } from '../src/backup/docker-volumes.js'
import { FolderVolumes } from '../src/backup/folder-volumes.js'
import { tempDir } from './backup-fixtures.js'
import { runVolumeHostTests } from './volume-host-suite.js'

runVolumeHostTests(test, 'folders', async () => {
  const root = await tempDir('volumes')
  return { host: new FolderVolumes(root), prefix: 'minga', cleanup: async () => await rm(root, { recursive: true, force: true }) }
})

const socket = (process.env.MINGA_TEST_DOCKER_HOST ?? '/var/run/docker.sock').replace(/^unix:\/\//, '')
const engine = existsSync(socket)
const ci = process.env.CI !== undefined && process.env.CI !== '' && process.env.CI !== 'false'
if (!engine && !ci) console.log(`skipped: no Docker engine at ${socket} (set MINGA_TEST_DOCKER_HOST)`)
const dockerTest = engine ? test : ci ? (name: string) => test(name, () => { throw new Error(`no Docker engine at ${socket}; CI must provide one`) }) : test.skip
let runs = 0
runVolumeHostTests(dockerTest, 'docker', async () => {
  const prefix = `mingatest-${process.pid}-${runs++}`
  return { host: new DockerVolumes({ meshId: `mesh-${prefix}`, nodeId: 'node-a', socketPath: socket }), prefix, cleanup: async () => {} }
})

test.run()

/**
 * The data dir (default `~/.minga`, or `--data DIR`, or `MINGA_DATA`):
 * the node key and the door key, the mesh file with the private-network key
 * (all mode 0600), the LevelDB entry store, and the control socket. A node
 * restarted on the same data dir comes back as itself with all it had.
 */
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { codeOf, messageOf, decodeIdentity, decodeRecoveryKey, encodeIdentity, encodeRecoveryKey, generateIdentity, type Identity } from '@minga/protocol'
import { DataDirError } from '../errors.js'

const RECOVERY_FILE = 'recovery.key'

export interface MeshFile {
  meshId: string
  root: string
  /** base64 of the /key/swarm/psk/1.0.0/ file */
  psk: string
  org: string
  /** door addresses from the invite (or empty for the founder) */
  bootstrap: string[]
  createdAt: number
}

/** the data dir: MINGA_DATA, else ~/.minga (absolute) */
export function defaultDataDir (env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.MINGA_DATA ?? join(homedir(), '.minga'))
}

/**
 * The files of one node's data dir (see above): keys, the mesh file, the state store's path, the control socket's path.
 * Throws DataDirError when a file is damaged or the dir holds no mesh
 */
export class DataDir {
  constructor (readonly path: string) {}

  get statePath (): string { return join(this.path, 'state') }
  get socketPath (): string { return join(this.path, 'api.sock') }
  get meshPath (): string { return join(this.path, 'mesh.json') }
  get logPath (): string { return join(this.path, 'node.log') }
  /** blobs held for others, restic's caches, lineage records */
  get backupPath (): string { return join(this.path, 'backup') }
  /** the memory runtime's volumes (folders) */
  get volumesPath (): string { return join(this.path, 'volumes') }

  async ensure (): Promise<void> {
    await mkdir(this.path, { recursive: true, mode: 0o700 })
  }

  /** the node key, created on first use */
  async identity (): Promise<Identity> {
    return await this.key('node.key')
  }

  /** the door host's own key: joiners dial the door by this peer id */
  async doorIdentity (): Promise<Identity> {
    return await this.key('door.key')
  }

  /**
   * the org's recovery key, held only by a node that joined with it (to open
   * what was sealed to the org's lost nodes); undefined when it holds none
   */
  async recoveryKey (): Promise<Identity | undefined> {
    try {
      return decodeRecoveryKey(await readFile(join(this.path, RECOVERY_FILE), 'utf8'))
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined
      throw new DataDirError(`${join(this.path, RECOVERY_FILE)} is damaged (${messageOf(err)}); join again with --recover and the key you keep`)
    }
  }

  async writeRecoveryKey (identity: Identity): Promise<void> {
    await this.writeSecret(RECOVERY_FILE, encodeRecoveryKey(identity) + '\n')
  }

  /** once this node has sealed again what only the recovery key opened, it keeps no copy of the key */
  async dropRecoveryKey (): Promise<void> {
    await rm(join(this.path, RECOVERY_FILE), { force: true })
  }

  async readMesh (): Promise<MeshFile | undefined> {
    let text: string
    try {
      text = await readFile(this.meshPath, 'utf8')
    } catch (err) {
      if (codeOf(err) === 'ENOENT') return undefined
      throw new DataDirError(`Cannot read ${this.meshPath}: ${messageOf(err)}`)
    }
    try {
      const mesh = JSON.parse(text) as MeshFile
      if (typeof mesh.meshId !== 'string' || typeof mesh.root !== 'string' || typeof mesh.psk !== 'string' || typeof mesh.org !== 'string') throw new Error('fields missing')
      return mesh
    } catch (err) {
      throw new DataDirError(`${this.meshPath} is damaged (${messageOf(err)}); restore it from a backup, or move the data dir away and join again`)
    }
  }

  /** the mesh file, or a clear error saying how to get one */
  async requireMesh (): Promise<MeshFile> {
    const mesh = await this.readMesh()
    if (mesh === undefined) throw new DataDirError(`No mesh in ${this.path}; create one with "minga init --org NAME" or join one with "minga join TOKEN"`)
    return mesh
  }

  async writeMesh (mesh: MeshFile): Promise<void> {
    await this.writeSecret('mesh.json', JSON.stringify(mesh, null, 2) + '\n')
  }

  private async key (file: string): Promise<Identity> {
    const path = join(this.path, file)
    try {
      return decodeIdentity(await readFile(path))
    } catch (err) {
      if (codeOf(err) !== 'ENOENT') throw err
    }
    await this.ensure()
    const identity = await generateIdentity()
    await this.writeSecret(file, encodeIdentity(identity))
    return identity
  }

  /** write-then-rename with mode 0600, so a crash never leaves half a file */
  private async writeSecret (file: string, content: string | Uint8Array): Promise<void> {
    await this.ensure()
    const path = join(this.path, file)
    const temp = `${path}.tmp-${process.pid}`
    await writeFile(temp, content, { mode: 0o600, flush: true })
    await chmod(temp, 0o600)
    await rename(temp, path)
  }
}

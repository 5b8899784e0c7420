/**
 * A switch of network namespaces, for nodes that must be able to vanish
 * without a word: each node gets a namespace of its own with one address,
 * wired to a bridge that lives in a namespace of its own too (so the host's
 * firewall, Docker's FORWARD rules among them, never sees the traffic).
 * `cut(i)` takes node i's port on the switch down: its packets are dropped
 * from then on, no reset and no refusal, as when a server loses power or
 * its network; `mend(i)` brings it back. Needs root (`ip netns`); `close()`
 * deletes every namespace, and with them the links.
 *
 * @example
 * ```ts
 * const lan = await NetnsSwitch.create(3)
 * spawn('nsenter', [`--net=${lan.nodes[0].path}`, 'node', 'server.js', '--listen', lan.nodes[0].address])
 * await lan.cut(0)
 * await lan.close()
 * ```
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const exec = promisify(execFile)

export interface NetnsNode {
  /** the namespace's path, for `nsenter --net=PATH` */
  path: string
  /** its IPv4 address on the switch */
  address: string
}

export class NetnsSwitch {
  private constructor (private readonly tag: string, readonly nodes: NetnsNode[]) {}

  /** true when this process may create namespaces (root, with `ip`) */
  static available (): boolean {
    return process.getuid?.() === 0
  }

  /** `count` namespaces (at most 200) on one switch, on a random 10.x.y.0/24 */
  static async create (count: number): Promise<NetnsSwitch> {
    const id = randomBytes(2)
    const tag = `mns${id.toString('hex')}`
    const subnet = `10.${200 + (id[0] % 50)}.${id[1]}`
    const lan = new NetnsSwitch(tag, Array.from({ length: count }, (_, i) => ({ path: `/var/run/netns/${tag}-${i}`, address: `${subnet}.${i + 2}` })))
    try {
      await ip('netns', 'add', lan.switchName)
      await ip('-n', lan.switchName, 'link', 'add', 'br0', 'type', 'bridge')
      await ip('-n', lan.switchName, 'link', 'set', 'br0', 'up')
      for (let i = 0; i < count; i++) {
        const ns = `${tag}-${i}`
        await ip('netns', 'add', ns)
        await ip('-n', ns, 'link', 'set', 'lo', 'up')
        await ip('-n', lan.switchName, 'link', 'add', `port${i}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns)
        await ip('-n', lan.switchName, 'link', 'set', `port${i}`, 'master', 'br0', 'up')
        await ip('-n', ns, 'addr', 'add', `${lan.nodes[i].address}/24`, 'dev', 'eth0')
        await ip('-n', ns, 'link', 'set', 'eth0', 'up')
      }
      return lan
    } catch (err) {
      await lan.close()
      throw err
    }
  }

  private get switchName (): string { return `${this.tag}-sw` }

  /** node i's packets are dropped from now on, both ways */
  async cut (i: number): Promise<void> { await ip('-n', this.switchName, 'link', 'set', `port${i}`, 'down') }

  /** node i is on the switch again */
  async mend (i: number): Promise<void> { await ip('-n', this.switchName, 'link', 'set', `port${i}`, 'up') }

  /** delete every namespace of this switch (the links go with them); safe to call twice */
  async close (): Promise<void> {
    for (const name of [this.switchName, ...this.nodes.map((_, i) => `${this.tag}-${i}`)]) {
      await ip('netns', 'del', name).catch(() => {})
    }
  }
}

async function ip (...args: string[]): Promise<void> {
  await exec('ip', args, { timeout: 15_000 })
}

/**
 * Linux network namespaces for multi-node tests: a private L2 segment (a
 * bridge living in the first namespace, one veth pair per other namespace)
 * with 10.213.0.0/24 addresses that exist only inside the namespaces made
 * here. No namespace has a route anywhere else, so nothing a node sends can
 * leave them. Needs root and iproute2; `netnsUnavailable()` says why not.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** Runs `ip` (or another tool) and returns its stdout; throws with its stderr. */
async function sh (file: string, args: readonly string[]): Promise<string> {
  try {
    const { stdout } = await run(file, [...args], { timeout: 10_000 })
    return stdout
  } catch (cause) {
    const stderr = (cause as { stderr?: string }).stderr?.trim() ?? ''
    throw new Error(`${file} ${args.join(' ')} failed${stderr === '' ? '' : `: ${stderr}`}`, { cause })
  }
}

export async function listNetns (): Promise<string[]> {
  const out = await sh('ip', ['netns', 'list'])
  return out.split('\n').map((line) => line.split(' ')[0] ?? '').filter((name) => name !== '')
}

/**
 * Undefined when this machine lets us create (and delete) a network
 * namespace; otherwise the reason, to print with the skip.
 */
export async function netnsUnavailable (): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  const name = `hc-probe-${randomBytes(4).toString('hex')}`
  try {
    await sh('ip', ['netns', 'add', name])
  } catch (err) {
    const code = ((err as Error).cause as { code?: unknown } | undefined)?.code
    if (code === 'ENOENT') return 'iproute2 (`ip`) is not installed'
    return `cannot create a network namespace (root/CAP_SYS_ADMIN needed): ${(err as Error).message}`
  }
  await sh('ip', ['netns', 'del', name])
  return undefined
}

/**
 * A set of namespaces joined by one bridge. Every namespace and process it
 * knows of is removed by `destroy()`, which never throws and may be called
 * twice.
 */
export class NetnsLab {
  readonly names: string[]
  readonly addresses = new Map<string, string>()
  private readonly created: string[] = []
  /** `hc-<random>`: every namespace of this lab starts with it. */
  readonly prefix: string

  /** `roles` become namespaces `hc-<random>-<role>`; the first hosts the bridge. */
  constructor (roles: readonly string[]) {
    this.prefix = `hc-${randomBytes(3).toString('hex')}`
    this.names = roles.map((role) => `${this.prefix}-${role}`)
  }

  ns (index: number): string { return this.names[index]! }

  /** Interface of namespace `ns` on the segment (the bridge in the first one, `eth0` elsewhere). */
  device (ns: string): string { return ns === this.names[0] ? 'br0' : 'eth0' }

  /** Creates the namespaces, the bridge and the veth pairs; addresses 10.213.0.1, .2, … in order. */
  async create (): Promise<void> {
    const [hub, ...spokes] = this.names as [string, ...string[]]
    for (const ns of this.names) {
      await sh('ip', ['netns', 'add', ns])
      this.created.push(ns)
      await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    }
    await sh('ip', ['-n', hub, 'link', 'add', 'br0', 'type', 'bridge'])
    for (const [i, ns] of spokes.entries()) {
      const port = `p${i}`
      // The veth pair is made in the hub; its other end moves into the spoke namespace as eth0.
      await sh('ip', ['-n', hub, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
      await sh('ip', ['-n', hub, 'link', 'set', port, 'master', 'br0'])
      await sh('ip', ['-n', hub, 'link', 'set', port, 'up'])
    }
    for (const [i, ns] of this.names.entries()) {
      const address = `10.213.0.${i + 1}`
      await sh('ip', ['-n', ns, 'addr', 'add', `${address}/24`, 'dev', this.device(ns)])
      await sh('ip', ['-n', ns, 'link', 'set', this.device(ns), 'up'])
      this.addresses.set(ns, address)
    }
  }

  address (ns: string): string { return this.addresses.get(ns)! }

  /**
   * Cuts `ns` off the segment: its interface goes down (so a dial from it
   * fails at once, ENETUNREACH, and packets to it are lost), and the TCP
   * connections that crossed the cut are aborted on both ends, as
   * keepalive and libp2p's ping would after some tens of seconds.
   */
  async partition (ns: string): Promise<void> {
    await sh('ip', ['-n', ns, 'link', 'set', this.device(ns), 'down'])
    const address = this.address(ns)
    await sh('ip', ['netns', 'exec', ns, 'ss', '-K', 'dst', '10.213.0.0/24'])
    for (const other of this.names) {
      if (other !== ns) await sh('ip', ['netns', 'exec', other, 'ss', '-K', 'dst', address])
    }
  }

  /** Puts `ns` back on the segment. */
  async heal (ns: string): Promise<void> {
    await sh('ip', ['-n', ns, 'link', 'set', this.device(ns), 'up'])
  }

  /** Kills any process still inside the namespaces (only ours can be there), then deletes them. */
  async destroy (): Promise<string[]> {
    const problems: string[] = []
    for (const ns of this.created.splice(0).reverse()) {
      try {
        const pids = (await sh('ip', ['netns', 'pids', ns])).split('\n').filter((p) => p.trim() !== '')
        for (const pid of pids) {
          try { process.kill(Number(pid), 'SIGKILL') } catch { /* already gone */ }
        }
        await sh('ip', ['netns', 'del', ns])
      } catch (err) {
        problems.push((err as Error).message)
      }
    }
    return problems
  }
}

/**
 * Installing the release tarballs (`npm pack` of each package) into an empty
 * folder without the network, as the release test does.
 *
 * An install from tarballs must resolve every dependency's version range,
 * which needs the registry's package documents; the npm cache that `npm ci`
 * filled holds the tarballs (by integrity) but not those documents. So the
 * folder gets a lockfile: the tarballs as file: dependencies, and every other
 * package pinned as the repository's own package-lock.json pins it, limited
 * to what the five packages reach at run time. `npm ci --offline` then takes
 * everything from the cache, exactly the versions the repository tests.
 */
import { execFile } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** The packages a release ships, in dependency order, with their folders in the repository. */
export const RELEASE_PACKAGES = [
  { name: '@healthchain/core', dir: 'packages/core' },
  { name: '@healthchain/ledger', dir: 'packages/ledger' },
  { name: '@healthchain/net', dir: 'packages/net' },
  { name: '@healthchain/client', dir: 'packages/client' },
  { name: '@healthchain/node', dir: 'node' }
] as const

export interface PackedTarball {
  readonly name: string
  readonly filename: string
  readonly integrity: string
  readonly files: readonly string[]
}

interface LockEntry {
  version?: string
  resolved?: string
  integrity?: string
  link?: boolean
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  [field: string]: unknown
}

/** `npm pack` of each release package into `dest`. */
export async function packRelease (root: string, dest: string): Promise<PackedTarball[]> {
  const packed: PackedTarball[] = []
  for (const pkg of RELEASE_PACKAGES) {
    const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dest], { cwd: join(root, pkg.dir) })
    const [info] = JSON.parse(stdout) as Array<{ filename: string, integrity: string, files: Array<{ path: string }> }>
    if (info === undefined) throw new Error(`npm pack of ${pkg.name} reported nothing`)
    packed.push({ name: pkg.name, filename: info.filename, integrity: info.integrity, files: info.files.map((f) => f.path) })
  }
  return packed
}

/**
 * Writes package.json and package-lock.json into `app` (which holds the tarballs) so that `npm ci --offline` installs
 * the release: the tarballs, and the repository's pinned versions of what they depend on (see the top of this file).
 */
export async function writeReleaseLock (root: string, app: string, tarballs: readonly PackedTarball[]): Promise<void> {
  const repoLock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  const dependencies = Object.fromEntries(tarballs.map((t) => [t.name, `file:${t.filename}`]))
  const packages: Record<string, LockEntry> = { '': { name: 'release-install', dependencies } }
  const queue: Array<{ path: string, entry: LockEntry }> = []
  for (const t of tarballs) {
    const dir = RELEASE_PACKAGES.find((p) => p.name === t.name)!.dir
    const manifest = repoLock.packages[dir]
    if (manifest === undefined) throw new Error(`package-lock.json has no workspace ${dir}`)
    // The workspace's own entry (version, dependencies, bin, license) as an installed tarball; its devDependencies stay behind.
    const { name, devDependencies, ...shipped } = manifest
    const entry: LockEntry = { ...shipped, resolved: `file:${t.filename}`, integrity: t.integrity }
    packages[`node_modules/${t.name}`] = entry
    queue.push({ path: `node_modules/${t.name}`, entry })
  }
  // Node's lookup: the dependant's own node_modules, then each enclosing one up to the top.
  const locate = (from: string, dep: string): string | undefined => {
    for (let base = from; ; base = base.slice(0, Math.max(0, base.lastIndexOf('/node_modules/')))) {
      const candidate = base === '' ? `node_modules/${dep}` : `${base}/node_modules/${dep}`
      const pinned = repoLock.packages[candidate]
      if (candidate in packages || (pinned !== undefined && pinned.link !== true)) return candidate
      if (base === '') return undefined
    }
  }
  while (queue.length > 0) {
    const { path, entry } = queue.shift()!
    const wanted = [...Object.keys(entry.dependencies ?? {}), ...Object.keys(entry.optionalDependencies ?? {})]
    for (const dep of wanted) {
      const at = locate(path, dep)
      if (at === undefined) {
        if (entry.optionalDependencies?.[dep] !== undefined) continue
        throw new Error(`package-lock.json cannot place ${dep}, a dependency of ${path}`)
      }
      if (at in packages) continue
      const { dev, devOptional, peer, ...pinned } = repoLock.packages[at]!
      packages[at] = pinned
      queue.push({ path: at, entry: pinned })
    }
  }
  await writeFile(join(app, 'package.json'), JSON.stringify({ name: 'release-install', private: true, dependencies }, null, 2))
  await writeFile(join(app, 'package-lock.json'), JSON.stringify({ name: 'release-install', lockfileVersion: 3, requires: true, packages }, null, 2))
}

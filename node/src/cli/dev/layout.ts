/**
 * The local development network `healthchain dev` runs, and the files it
 * keeps in its directory (default ./.healthchain-dev):
 *
 *   <dir>/                   0700
 *     network.json           0600  what setup created: base port, registry key,
 *                                  each node's dev API key (kept across runs)
 *     governance.json        0600  the dev consortium's governance key
 *     dev.json               0600  while the network runs: each node's name,
 *                                  role, API URL, console URL, peer id and API key (removed
 *                                  at a clean stop; `npm run demo` reads it)
 *     hospital-a/ …          0700  each node's data directory (keys/, store/,
 *                                  index/) and its config.json, which
 *                                  `healthchain start --config` also runs
 *     users/                 0700  phrase files of users the demo created
 *
 * Ports, from --base-port B (default 7000): node i (0..3) serves its API on
 * B+i, libp2p TCP on B+10+i (the address the registry lists) and libp2p
 * WebSockets for light peers on B+20+i, all on 127.0.0.1.
 */
import { existsSync } from 'node:fs'
import { join } from 'node:path'
import type { InstitutionId, InstitutionRole } from '@healthchain/core'
import { z } from 'zod'
import { readSecretFile, writeSecretFile } from '../../secret-file.js'
import { CliError } from '../errors.js'

export const DEFAULT_DEV_DIR = '.healthchain-dev'
export const DEFAULT_BASE_PORT = 7000
export const DEV_HOST = '127.0.0.1'
/** Ports used above the base: API +0..3, TCP +10..13, WebSockets +20..23. */
export const DEV_PORT_SPAN = 24
export const MIN_BASE_PORT = 1024
export const MAX_BASE_PORT = 65535 - DEV_PORT_SPAN

export interface DevNodeSpec {
  readonly name: InstitutionId
  readonly title: string
  readonly role: InstitutionRole
}

/** The four parties (two examiners, an inquirer, a regulator), in start order: hospital-a hosts the registry and the others bootstrap from it. */
export const DEV_NODES: readonly DevNodeSpec[] = [
  { name: 'hospital-a' as InstitutionId, title: 'Hospital A', role: 'examiner' },
  { name: 'hospital-b' as InstitutionId, title: 'Hospital B', role: 'examiner' },
  { name: 'agency' as InstitutionId, title: 'Health Agency', role: 'inquirer' },
  { name: 'regulator' as InstitutionId, title: 'Regulator', role: 'regulator' }
]

export const DEV_CONSORTIUM_NAME = 'healthchain dev consortium'

export interface DevPorts {
  readonly api: number
  readonly p2p: number
  readonly ws: number
}

export function devPorts (basePort: number, index: number): DevPorts {
  return { api: basePort + index, p2p: basePort + 10 + index, ws: basePort + 20 + index }
}

export function p2pAddress (ports: DevPorts): string { return `/ip4/${DEV_HOST}/tcp/${ports.p2p}` }
export function wsAddress (ports: DevPorts): string { return `/ip4/${DEV_HOST}/tcp/${ports.ws}/ws` }

export interface DevPaths {
  readonly root: string
  readonly state: string
  readonly manifest: string
  readonly governance: string
  readonly users: string
  nodeDir (name: string): string
  configFile (name: string): string
}

export function devPaths (root: string): DevPaths {
  return {
    root,
    state: join(root, 'network.json'),
    manifest: join(root, 'dev.json'),
    governance: join(root, 'governance.json'),
    users: join(root, 'users'),
    nodeDir: (name) => join(root, name),
    configFile: (name) => join(root, name, 'config.json')
  }
}

/** Entries a dev directory may hold: only these are ever deleted (--fresh, or a set-up that was cut short). */
export function devEntries (): string[] {
  return ['network.json', 'dev.json', 'governance.json', 'users', ...DEV_NODES.map((n) => n.name)]
}

// ---- network.json: what set-up made (kept across runs)

const institutionId = z.string().regex(/^[a-z][a-z0-9-]{1,62}[a-z0-9]$/)
const role = z.enum(['examiner', 'inquirer', 'regulator'])

export const devStateSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('healthchain-dev-network'),
  basePort: z.int().min(MIN_BASE_PORT).max(MAX_BASE_PORT),
  registryKey: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
  nodes: z.array(z.strictObject({ name: institutionId, role, apiKey: z.string() }))
})
export type DevState = z.infer<typeof devStateSchema>

// ---- dev.json: the running network, for people and for `npm run demo`

export const devManifestSchema = z.strictObject({
  v: z.literal(1),
  kind: z.literal('healthchain-dev'),
  /** The process running the network (stop it with SIGINT or SIGTERM). */
  pid: z.int(),
  startedAt: z.iso.datetime(),
  registryKey: z.string(),
  basePort: z.int(),
  nodes: z.array(z.strictObject({
    name: institutionId,
    role,
    api: z.string(),
    /** The node's web console: `/` on its API's origin. */
    console: z.string(),
    peerId: z.string(),
    /** A staff API key of this node (for its role): dev only, which is why dev.json is 0600. */
    apiKey: z.string(),
    p2p: z.string()
  }))
})
export type DevManifest = z.infer<typeof devManifestSchema>

async function readJsonFile<S extends z.ZodType> (path: string, schema: S, what: string): Promise<z.infer<S> | undefined> {
  const text = await readSecretFile(path)
  if (text === undefined) return undefined
  try {
    return schema.parse(JSON.parse(text))
  } catch (cause) {
    throw new CliError('BAD_FILE', `${path} is not a ${what} file of this version`, { cause })
  }
}

export async function readDevState (paths: DevPaths): Promise<DevState | undefined> {
  return await readJsonFile(paths.state, devStateSchema, 'healthchain dev network')
}

export async function writeDevState (paths: DevPaths, state: DevState): Promise<void> {
  await writeSecretFile(paths.state, JSON.stringify(state, null, 2) + '\n')
}

/** dev.json of the network in `root`, or undefined when there is none (the network is not running, or never ran). */
export async function readDevManifest (root: string): Promise<DevManifest | undefined> {
  const path = devPaths(root).manifest
  if (!existsSync(path)) return undefined
  return await readJsonFile(path, devManifestSchema, 'dev.json')
}

export async function writeDevManifest (paths: DevPaths, manifest: DevManifest): Promise<void> {
  await writeSecretFile(paths.manifest, JSON.stringify(manifest, null, 2) + '\n')
}

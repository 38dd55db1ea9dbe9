/**
 * The device directory:
 *
 *   <dir>/ledger/                      the device's Corestore (a Ledger without an
 *                                      institution): the registry, the user's own
 *                                      chain, and the outbox (outbox.ts)
 *   <dir>/device.json                  whose device this is and what it knows (below)
 *   <dir>/keys/recovery-phrase.json    only if the app asked to keep the phrase:
 *                                      ledger's key-store format, owner-only (0600)
 *
 * device.json is `{ v: 1, user, registry, chainKey?, nodes, quorum?,
 * witnessed? }`: the user id and registry key it was created for (so a
 * directory is never used by another user or consortium), the chain key
 * once known, node addresses connected to before (for reconnecting after a
 * restart), the quorum of witness cosignatures set for this device (absent:
 * a majority of the registry's active regulators) and the witnessed head
 * the device trusts, as `{ length, root }` (the phone shows nothing past
 * its length while a quorum is demanded). Nothing secret,
 * but it says which chain is this person's, so it is written owner-only
 * too (the ledger's writeOwnerOnlyFile), so a crash never leaves half
 * of it.
 */
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { bytesToHex, fromHex, type UserId } from '@healthchain/core'
import { writeOwnerOnlyFile } from '@healthchain/ledger'
import { ClientError } from './errors.js'

export const DEVICE_FILE = 'device.json'
export const LEDGER_DIR = 'ledger'
export const PHRASE_FILE = join('keys', 'recovery-phrase.json')

/** Where a device directory keeps the phrase, if it was asked to. */
export function phrasePathOf (dir: string): string {
  return join(dir, PHRASE_FILE)
}

/** Node addresses remembered for reconnecting; the oldest are dropped past this. */
const MAX_NODES = 16

interface DeviceFile {
  v: 1
  user: string
  registry: string
  chainKey?: string
  nodes: string[]
  quorum?: number
  witnessed?: WitnessedHead
}

/** The highest witnessed head this device checked its chain against: its length and tree root (hex). */
export interface WitnessedHead {
  readonly length: number
  readonly root: string
}

/**
 * What a device directory's device.json says, for reopening the device
 * without the app's configuration at hand (the CLI's `healthchain phone`
 * keeps nothing else). Nothing in it is secret.
 */
export interface SavedDevice {
  readonly userId: UserId
  readonly registryKey: Uint8Array
  readonly chainKey: Uint8Array | undefined
  /** Node addresses connected to or remembered before, most recent last. */
  readonly nodes: readonly string[]
  /** The quorum set for this device; undefined: a majority of the registry's active regulators. */
  readonly quorum: number | undefined
}

/** The saved state of the device directory `dir`; undefined when it has none (never opened). DEVICE_STATE if it is damaged. */
export async function readSavedDevice (dir: string): Promise<SavedDevice | undefined> {
  const state = await readState(join(dir, DEVICE_FILE))
  if (state === undefined) return undefined
  return {
    userId: state.user as UserId,
    registryKey: fromHex(state.registry, 32, 'registry'),
    chainKey: state.chainKey === undefined ? undefined : fromHex(state.chainKey, 32, 'chainKey'),
    nodes: [...state.nodes],
    quorum: state.quorum
  }
}

export class DeviceState {
  readonly dir: string
  private state: DeviceFile

  private constructor (dir: string, state: DeviceFile) {
    this.dir = dir
    this.state = state
  }

  /** Opens (or creates) the state of the device directory `dir` for `user` and the registry `registryKey`. */
  static async open (dir: string, user: UserId, registryKey: Uint8Array): Promise<DeviceState> {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const registry = bytesToHex(registryKey)
    const existing = await readState(join(dir, DEVICE_FILE))
    if (existing === undefined) {
      const device = new DeviceState(dir, { v: 1, user, registry, nodes: [] })
      await device.save()
      return device
    }
    if (existing.user !== user) throw new ClientError('DEVICE_STATE', 'this device directory belongs to another user; use a directory of its own')
    if (existing.registry !== registry) throw new ClientError('DEVICE_STATE', 'this device directory was set up for another consortium registry')
    return new DeviceState(dir, existing)
  }

  get ledgerDir (): string { return join(this.dir, LEDGER_DIR) }
  get phrasePath (): string { return phrasePathOf(this.dir) }

  get chainKey (): Uint8Array | undefined {
    return this.state.chainKey === undefined ? undefined : fromHex(this.state.chainKey, 32, 'chainKey')
  }

  async setChainKey (key: Uint8Array): Promise<void> {
    const hex = bytesToHex(key)
    if (this.state.chainKey === hex) return
    this.state = { ...this.state, chainKey: hex }
    await this.save()
  }

  /** Node addresses connected to before, most recent last. */
  get nodes (): readonly string[] { return this.state.nodes }

  async rememberNode (address: string): Promise<void> {
    const nodes = [...this.state.nodes.filter((a) => a !== address), address].slice(-MAX_NODES)
    if (nodes.join('\n') === this.state.nodes.join('\n')) return
    this.state = { ...this.state, nodes }
    await this.save()
  }

  /** The quorum set for this device (PhoneClientInit.quorum); undefined: a majority of the registry's active regulators. */
  get quorum (): number | undefined { return this.state.quorum }

  /** Sets the device's quorum; undefined goes back to the default (a majority of the registry's active regulators). */
  async setQuorum (quorum: number | undefined): Promise<void> {
    if (this.state.quorum === quorum) return
    const { quorum: _dropped, ...rest } = this.state
    this.state = quorum === undefined ? rest : { ...rest, quorum }
    await this.save()
  }

  /** The highest witnessed head the chain was checked against; undefined before the first witnessed sync. */
  get witnessed (): WitnessedHead | undefined { return this.state.witnessed }

  /** Records a witnessed head the chain was just checked against; a lower one than recorded changes nothing. */
  async setWitnessed (head: WitnessedHead): Promise<void> {
    if (this.state.witnessed !== undefined && this.state.witnessed.length >= head.length) return
    this.state = { ...this.state, witnessed: { length: head.length, root: head.root } }
    await this.save()
  }

  private async save (): Promise<void> {
    await writeOwnerOnlyFile(join(this.dir, DEVICE_FILE), JSON.stringify(this.state, null, 2) + '\n')
  }
}

function isWitnessedHead (v: unknown): v is WitnessedHead {
  if (typeof v !== 'object' || v === null) return false
  const { length, root } = v as { length?: unknown, root?: unknown }
  return Number.isSafeInteger(length) && (length as number) >= 1 && typeof root === 'string' && /^[0-9a-f]{64}$/.test(root)
}

async function readState (path: string): Promise<DeviceFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as { code?: unknown }).code === 'ENOENT') return undefined
    throw new ClientError('DEVICE_STATE', `${DEVICE_FILE} cannot be read`, { cause: err })
  }
  let value: Partial<DeviceFile>
  try {
    value = JSON.parse(text) as Partial<DeviceFile>
  } catch (err) {
    throw new ClientError('DEVICE_STATE', `${DEVICE_FILE} is not valid JSON`, { cause: err })
  }
  const hex = (v: unknown): boolean => typeof v === 'string' && /^[0-9a-f]{64}$/.test(v)
  if (value.v !== 1 || typeof value.user !== 'string' || !hex(value.registry) || (value.chainKey !== undefined && !hex(value.chainKey)) ||
    !Array.isArray(value.nodes) || !value.nodes.every((n) => typeof n === 'string') ||
    (value.quorum !== undefined && !(Number.isSafeInteger(value.quorum) && value.quorum >= 0)) ||
    (value.witnessed !== undefined && !isWitnessedHead(value.witnessed))) {
    throw new ClientError('DEVICE_STATE', `${DEVICE_FILE} is not a version 1 device file`)
  }
  return value as DeviceFile
}

/**
 * The ledger level of the consortium harness shared by tests, benchmarks,
 * demos and the dev network: a governance key, the registry created in the
 * first party's ledger, every party admitted (with its libp2p peer id and
 * addresses when it has them), and a ledger per party in one temporary
 * directory. The net level starts nodes on these ledgers, the node level
 * daemons; neither repeats what is done here.
 *
 * Inside a test, pass `onCleanup` (a cleanup list the test file runs after
 * each test, or a hook such as vitest's `onTestFinished`) and the harness
 * registers its own teardown; outside tests, call `close()`.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  generatePartyKeys, type CryptoProvider, type InstitutionId, type InstitutionRole, type PartyKeys
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger, type LedgerOptions, type RegistryFeed } from '../index.js'

/** An institution of a test consortium: its id, role and signing and sealing keys. */
export interface Institution {
  readonly id: InstitutionId
  readonly role: InstitutionRole
  readonly keys: PartyKeys
  /** Its display name in the registry (default: the id). */
  readonly name?: string
  /** Its libp2p peer id, admitted with it when present. */
  readonly peer?: string
  /** The libp2p addresses the registry lists for it. */
  readonly addrs?: readonly string[]
}

/** Teardown steps a test file runs (in reverse) after each test. */
export type Cleanup = Array<() => Promise<void>>

/** Where a harness registers its teardown: a cleanup list, or a hook that takes the step. */
export type OnCleanup = Cleanup | ((teardown: () => Promise<void>) => void)

export function registerCleanup (onCleanup: OnCleanup | undefined, teardown: () => Promise<void>): void {
  if (onCleanup === undefined) return
  if (Array.isArray(onCleanup)) onCleanup.push(teardown)
  else onCleanup(teardown)
}

/** A new institution with fresh keys. */
export function makeInstitution (id: string, role: InstitutionRole, crypto: CryptoProvider = sodiumProvider): Institution {
  return { id: id as InstitutionId, role, keys: generatePartyKeys(crypto) }
}

export interface LedgerConsortiumInit<P extends Institution> {
  /** Every party the registry admits, in order; the first hosts the registry. */
  readonly parties: readonly P[]
  /** The consortium's name in the registry's first entry. */
  readonly name?: string
  /** The directory to hold the ledgers (default: a fresh temporary one, removed on close). */
  readonly dir?: string
  /** The prefix of the temporary directory's name. */
  readonly prefix?: string
  /** Where a party's ledger lives (default: a directory named by its id under `dir`). */
  readonly ledgerDir?: (id: string) => string
  /** The governance keys (default: fresh ones; a dev network keeps its own in a file). */
  readonly governance?: PartyKeys
  /** Options for every party's ledger (crypto defaults to libsodium). */
  readonly ledger?: Omit<LedgerOptions, 'dir' | 'institution'>
  readonly onCleanup?: OnCleanup
}

export class LedgerConsortium<P extends Institution = Institution> {
  readonly dir: string
  readonly governance: PartyKeys
  readonly parties: readonly P[]
  readonly registryKey: Uint8Array
  private readonly ledgerOptions: Omit<LedgerOptions, 'dir' | 'institution'>
  private readonly ledgers = new Map<string, Ledger>()
  private readonly others: Ledger[] = []
  private readonly ownsDir: boolean
  private readonly ledgerDir: ((id: string) => string) | undefined

  private constructor (dir: string, init: LedgerConsortiumInit<P>, governance: PartyKeys, host: Ledger) {
    const { parties, ledger: ledgerOptions } = init
    this.dir = dir
    this.ownsDir = init.dir === undefined
    this.ledgerDir = init.ledgerDir
    this.parties = parties
    this.governance = governance
    this.registryKey = host.registry.key
    this.ledgerOptions = { crypto: sodiumProvider, ...ledgerOptions }
    this.ledgers.set(parties[0]!.id, host)
  }

  static async create<P extends Institution> (init: LedgerConsortiumInit<P>): Promise<LedgerConsortium<P>> {
    const host = init.parties[0]
    if (host === undefined) throw new Error('a consortium needs at least one party')
    const dir = init.dir ?? await mkdtemp(join(tmpdir(), init.prefix ?? 'healthchain-test-'))
    const governance = init.governance ?? generatePartyKeys(sodiumProvider)
    let ledger: Ledger | undefined
    try {
      ledger = await Ledger.open({ crypto: sodiumProvider, ...init.ledger, dir: init.ledgerDir?.(host.id) ?? join(dir, host.id), institution: host.id })
      const registry = await ledger.createRegistry(governance.sign, init.name ?? 'Test consortium')
      for (const p of init.parties) await registry.append('admit', admission(p), governance.sign)
    } catch (err) {
      await ledger?.close()
      if (init.dir === undefined) await rm(dir, { recursive: true, force: true })
      throw err
    }
    const consortium = new LedgerConsortium(dir, init, governance, ledger)
    registerCleanup(init.onCleanup, async () => { await consortium.close() })
    return consortium
  }

  /** The party that hosts the registry. */
  get host (): P { return this.parties[0]! }

  party (id: string): P {
    const party = this.parties.find((p) => p.id === id)
    if (party === undefined) throw new Error(`no party ${id} in this consortium`)
    return party
  }

  /** The directory of the party's ledger (its Corestore). */
  dirOf (id: string): string { return this.ledgerDir?.(id) ?? join(this.dir, id) }

  /** The party's ledger, opened (again) if closed; one that never held the registry follows it. */
  async ledger (id: string): Promise<Ledger> {
    let ledger = this.ledgers.get(id)
    if (ledger === undefined) {
      ledger = await Ledger.open({ ...this.ledgerOptions, dir: this.dirOf(id), institution: id as InstitutionId })
      if (!ledger.hasRegistry) await ledger.followRegistry(this.registryKey)
      this.ledgers.set(id, ledger)
    }
    return ledger
  }

  /** Whether the party's ledger is open here. */
  isOpen (id: string): boolean { return this.ledgers.has(id) }

  /** Opens the party's ledger again after the caller closed it (a restart). */
  async reopen (id: string): Promise<Ledger> {
    this.ledgers.delete(id)
    return await this.ledger(id)
  }

  /**
   * Opens a ledger in `name`'s directory as given, registry or not (an
   * outsider, a replica opened bare, a second copy); closed with the rest.
   */
  async openLedger (name: string, opts: Omit<LedgerOptions, 'dir'> = {}): Promise<Ledger> {
    const ledger = await Ledger.open({ crypto: sodiumProvider, ...opts, dir: this.dirOf(name) })
    this.others.push(ledger)
    return ledger
  }

  /** The registry as its host has it now (the feed of the host's ledger as last opened). */
  async hostRegistry (): Promise<RegistryFeed> {
    return (await this.ledger(this.host.id)).registry
  }

  /** Governance admits another institution (at the host); returns the registry's new length. */
  async admit (party: Institution): Promise<number> {
    const registry = await this.hostRegistry()
    await registry.append('admit', admission(party), this.governance.sign)
    return registry.length
  }

  /** Governance suspends or reinstates an institution (at the host); returns the registry's new length. */
  async setStatus (id: string, action: 'suspend' | 'reinstate'): Promise<number> {
    const registry = await this.hostRegistry()
    await registry.append(action, { institution: id as InstitutionId }, this.governance.sign)
    return registry.length
  }

  async closeLedger (id: string): Promise<void> {
    await this.ledgers.get(id)?.close()
    this.ledgers.delete(id)
  }

  /** Closes every ledger it opened and removes the directory it made. */
  async close (): Promise<void> {
    const open = [...this.ledgers.values(), ...this.others.splice(0)]
    this.ledgers.clear()
    await Promise.allSettled(open.map(async (l) => await l.close()))
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true })
  }
}

interface Admission {
  institution: InstitutionId
  name: string
  role: InstitutionRole
  sign: Uint8Array
  box: Uint8Array
  peer?: string
  addrs?: string[]
}

function admission (p: Institution): Admission {
  return {
    institution: p.id,
    name: p.name ?? p.id,
    role: p.role,
    sign: p.keys.sign.publicKey,
    box: p.keys.box.publicKey,
    ...(p.peer === undefined ? {} : { peer: p.peer }),
    ...(p.addrs === undefined ? {} : { addrs: [...p.addrs] })
  }
}

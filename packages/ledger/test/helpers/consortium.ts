/**
 * A consortium for tests: governance keys, four institutions (two examiners,
 * an inquirer, a regulator), a ledger on disk in a fresh temporary directory
 * that created the registry and admitted them all, and users with keys.
 *
 * Also: signing helpers for user and institution entries, in-process
 * replication between two ledgers, and waits that end on a condition (with a
 * deadline only so that a broken test fails instead of hanging).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Hypercore from 'hypercore'
import { expect } from 'vitest'
import {
  buildExam, buildGenesis, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type CryptoProvider, type Entry, type ExamPlain, type ExamSealed, type InstitutionId, type InstitutionRole,
  type PartyKeys, type SigningKeyPair, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger, LedgerError, type AppendResult, type LedgerErrorCode, type LedgerOptions, type UserChain } from '../../src/index.js'
import { storeOf } from '../../src/testing/internals.js'

export const crypto = sodiumProvider

export interface TestInstitution {
  readonly id: InstitutionId
  readonly role: InstitutionRole
  readonly keys: PartyKeys
}

export interface TestConsortium {
  readonly dir: string
  readonly governance: PartyKeys
  readonly institutions: Record<'hospitalA' | 'hospitalB' | 'agency' | 'regulator', TestInstitution>
  /** hospital-a's ledger: it created the registry and is custodian of enrolled users. */
  ledger: Ledger
  /** hospital-a's ledger directory. */
  readonly ledgerDir: string
  /** Reopens hospital-a's ledger from disk (after close). */
  reopen (): Promise<Ledger>
  /** Opens another ledger in a fresh directory under `dir` (closed by cleanup). */
  openPeer (name: string, opts?: Omit<LedgerOptions, 'dir'>): Promise<Ledger>
  cleanup (): Promise<void>
}

export interface ConsortiumOptions {
  /** The provider hospital-a's ledger runs with (default libsodium). */
  readonly crypto?: CryptoProvider
  readonly verifyWorkers?: number
}

function institution (id: string, role: InstitutionRole): TestInstitution {
  return { id: id as InstitutionId, role, keys: generatePartyKeys(crypto) }
}

export async function makeTempDir (prefix = 'healthchain-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

export async function makeConsortium (opts: ConsortiumOptions = {}): Promise<TestConsortium> {
  const dir = await makeTempDir()
  const governance = generatePartyKeys(crypto)
  const institutions = {
    hospitalA: institution('hospital-a', 'examiner'),
    hospitalB: institution('hospital-b', 'examiner'),
    agency: institution('agency', 'inquirer'),
    regulator: institution('regulator', 'regulator')
  }
  const ledgerDir = join(dir, 'hospital-a')
  const ledgerOptions: LedgerOptions = { dir: ledgerDir, institution: institutions.hospitalA.id, crypto: opts.crypto ?? crypto, verifyWorkers: opts.verifyWorkers }
  const ledger = await Ledger.open(ledgerOptions)
  const registry = await ledger.createRegistry(governance.sign, 'Test consortium')
  for (const inst of Object.values(institutions)) {
    await registry.append('admit', {
      institution: inst.id, name: inst.id, role: inst.role, sign: inst.keys.sign.publicKey, box: inst.keys.box.publicKey
    }, governance.sign)
  }
  const peers: Ledger[] = []
  const consortium: TestConsortium = {
    dir,
    governance,
    institutions,
    ledger,
    ledgerDir,
    async reopen () {
      consortium.ledger = await Ledger.open(ledgerOptions)
      return consortium.ledger
    },
    async openPeer (name, peerOpts = {}) {
      const peer = await Ledger.open({ crypto, ...peerOpts, dir: join(dir, name) })
      peers.push(peer)
      return peer
    },
    async cleanup () {
      await Promise.allSettled([consortium.ledger, ...peers].map(async (l) => await l.close()))
      await rm(dir, { recursive: true, force: true })
    }
  }
  return consortium
}

export function newUser (): UserKeys {
  return userKeysFromPhrase(newRecoveryPhrase(), crypto)
}

/** A genesis for `user` at `custodian`, signed for (chainKey, 0). */
export function genesisFor (user: UserKeys, custodian: InstitutionId, chainKey: Uint8Array, signer: UserKeys = user): Entry {
  return signEntry(buildGenesis(user, custodian, {}, crypto), { chainKey, seq: 0 }, signer.sign.secretKey, crypto)
}

/** Enrols `user` at the ledger's institution. */
export async function enrol (ledger: Ledger, user: UserKeys): Promise<UserChain> {
  const chainKey = await ledger.chainKeyFor(user.userId)
  return await ledger.enrol(genesisFor(user, ledger.institution!, chainKey))
}

export const samplePlain: ExamPlain = {
  title: 'Annual check-up',
  observations: [
    { code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 120 },
    { code: '8462-4', value: 82, unit: 'mm[Hg]', low: 60, high: 80 }
  ]
}
export const sampleSealed: ExamSealed = {
  observations: [{ code: '2345-7', value: 5.4, unit: 'mmol/L', low: 3.9, high: 5.5 }],
  notes: 'Fasting glucose at the upper end of normal.'
}

export interface ExamOptions {
  sealed?: ExamSealed
  plain?: ExamPlain
  /** Registry length the author signs against (default: the ledger's current one). */
  reg?: number
  /** X25519 keys to seal for (default: chain.examRecipients(author box)). */
  recipients?: readonly Uint8Array[]
  time?: number
  id?: Uint8Array
}

/** An unsigned exam by `author` for `chain`. */
export function examEntry (ledger: Ledger, chain: UserChain, author: TestInstitution, opts: ExamOptions = {}): UnsignedEntry {
  const input = {
    author: author.id,
    reg: opts.reg ?? ledger.registry.length,
    chainKey: chain.key,
    plain: opts.plain ?? samplePlain,
    sealed: opts.sealed ?? sampleSealed,
    recipients: opts.recipients ?? chain.examRecipients(author.keys.box.publicKey, opts.time),
    ...(opts.time === undefined ? {} : { time: opts.time }),
    ...(opts.id === undefined ? {} : { id: opts.id })
  }
  return buildExam(input, crypto)
}

/** Signs `unsigned` as `author` for (chainKey, seq). */
export function signAs (author: TestInstitution | UserKeys, unsigned: UnsignedEntry, chainKey: Uint8Array, seq: number): Entry {
  const secretKey = 'keys' in author ? author.keys.sign.secretKey : author.sign.secretKey
  return signEntry(unsigned, { chainKey, seq }, secretKey, crypto)
}

/** The signing key pair of an institution (for `appendSigned`). */
export function signerOf (author: TestInstitution): SigningKeyPair {
  return author.keys.sign
}

/** Writes an exam as `author` through the custodian's signing path. */
export async function writeExam (ledger: Ledger, chain: UserChain, author: TestInstitution, opts: ExamOptions = {}): Promise<number> {
  const unsigned = examEntry(ledger, chain, author, opts)
  const { seq } = await chain.appendSigned(unsigned, signerOf(author))
  return seq
}

/** Signs a user entry for the chain's next position and appends it. */
export async function appendUser (chain: UserChain, user: UserKeys, unsigned: UnsignedEntry): Promise<AppendResult> {
  const seq = chain.length
  return await chain.append(signAs(user, unsigned, chain.key, seq), seq)
}

/** Asserts that `promise` rejects with a LedgerError of `code`. */
export async function expectCode (promise: Promise<unknown>, code: LedgerErrorCode): Promise<LedgerError> {
  const err = await promise.then(() => undefined, (e: unknown) => e)
  expect(err, `expected a LedgerError ${code}`).toBeInstanceOf(LedgerError)
  expect((err as LedgerError).code).toBe(code)
  return err as LedgerError
}

/** Rejects if `promise` has not settled within `ms` (a deadline for failure, never a wait for success). */
export async function within<T> (promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms: ${what}`)), ms)
  })
  try {
    return await Promise.race([promise, deadline])
  } finally {
    clearTimeout(timer)
  }
}

/** Resolves once `core.length >= length` (on its 'append' events). */
export async function waitForLength (core: Hypercore, length: number, ms = 10_000): Promise<void> {
  if (core.length >= length) return
  let listener: (() => void) | undefined
  const reached = new Promise<void>((resolve) => {
    listener = () => { if (core.length >= length) resolve() }
    core.on('append', listener)
  })
  try {
    await within(reached, ms, `core length ${length}`)
  } finally {
    core.off('append', listener!)
  }
}

export interface Link {
  readonly initiator: Hypercore.ProtocolStream
  readonly responder: Hypercore.ProtocolStream
  /** Attaches a replica core to the link and waits until blocks [0, length) are stored locally. */
  fetch (replica: Hypercore, length: number): Promise<void>
  destroy (): void
}

/** Replicates two ledgers' stores in-process (the `writer` side initiates). */
export function link (writer: Ledger, reader: Ledger): Link {
  const initiator = storeOf(writer).replicate(true)
  const responder = storeOf(reader).replicate(false)
  initiator.pipe(responder).pipe(initiator)
  // Destroying one side surfaces as an error on the other; nothing to report.
  initiator.on('error', () => {})
  responder.on('error', () => {})
  return {
    initiator,
    responder,
    async fetch (replica, length) {
      replica.replicate(responder)
      await waitForLength(replica, length)
      await within(replica.download({ start: 0, end: length }).done(), 10_000, 'download')
    },
    destroy () {
      initiator.destroy()
      responder.destroy()
    }
  }
}

/** Storage internals of hypercore 11.37.1 (hypercore-storage 3.3): write raw blocks to disk. */
interface InternalWriteBatch {
  putBlock (index: number, data: Uint8Array): void
  flush (): Promise<void>
}

/** Overwrites block `index` on disk with `bytes`, bypassing the tree (simulates tampering or disk damage). */
export async function overwriteBlock (core: Hypercore, index: number, bytes: Uint8Array): Promise<void> {
  const storage = (core.state as unknown as { storage: { write (): InternalWriteBatch } }).storage
  const tx = storage.write()
  tx.putBlock(index, bytes)
  await tx.flush()
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

/**
 * A consortium for the ledger's tests: the shared harness
 * (`@healthchain/ledger/testing`) with four institutions (two examiners, an
 * inquirer, a regulator), hospital-a's ledger having created the registry
 * and admitted them all, and users with keys.
 *
 * Also: signing helpers for user and institution entries, in-process
 * replication between two ledgers, and waits that end on a condition (with a
 * deadline only so that a broken test fails instead of hanging).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type Hypercore from 'hypercore'
import {
  buildExam, buildGenesis, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type CryptoProvider, type Entry, type ExamPlain, type ExamSealed, type InstitutionId,
  type PartyKeys, type SigningKeyPair, type UnsignedEntry, type UserKeys
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { expectCodeOf } from '@healthchain/core/testing'
import { LedgerError, type AppendResult, type Ledger, type LedgerOptions, type UserChain } from '../../src/index.js'
import { LedgerConsortium, makeInstitution, type Institution } from '../../src/testing/index.js'
import { storeOf } from '../../src/testing/internals.js'

export const crypto = sodiumProvider

export type TestInstitution = Institution

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
  /** Entry ids each open chain of hospital-a keeps in memory (the ledger's default when left out). */
  readonly idsInMemory?: number
}

export async function makeTempDir (prefix = 'healthchain-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

/** The shared ledger harness with four institutions, hospital-a hosting the registry (the test file calls `cleanup`). */
export async function makeConsortium (opts: ConsortiumOptions = {}): Promise<TestConsortium> {
  const institutions = {
    hospitalA: makeInstitution('hospital-a', 'examiner'),
    hospitalB: makeInstitution('hospital-b', 'examiner'),
    agency: makeInstitution('agency', 'inquirer'),
    regulator: makeInstitution('regulator', 'regulator')
  }
  const harness = await LedgerConsortium.create({
    parties: Object.values(institutions),
    ledger: { crypto: opts.crypto ?? crypto, verifyWorkers: opts.verifyWorkers, ...(opts.idsInMemory === undefined ? {} : { idsInMemory: opts.idsInMemory }) }
  })
  const host = institutions.hospitalA.id
  const consortium: TestConsortium = {
    dir: harness.dir,
    governance: harness.governance,
    institutions,
    ledger: await harness.ledger(host),
    ledgerDir: harness.dirOf(host),
    async reopen () {
      consortium.ledger = await harness.reopen(host)
      return consortium.ledger
    },
    async openPeer (name, peerOpts = {}) {
      return await harness.openLedger(name, peerOpts)
    },
    async cleanup () {
      await harness.close()
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

/** Awaits `promise` (or runs a function), which must fail with a LedgerError of `code`; returns the error. */
export const expectCode = expectCodeOf(LedgerError)

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

/**
 * Users' chains as a service, knowing nothing of HTTP: enrol, read for a
 * caller, write an exam, write a user's own entry, verify. Every read goes
 * through the access policy (access.ts).
 *
 * Writes are appended here when this node is the custodian (an examiner's
 * exam signed inside the append batch), else forwarded to the custodian
 * through the network node; they return only once durably appended.
 */
import {
  assembleExam, bytesToHex, can, decodeEntry, encodeCanonical, encodeEntry, equal, isRecipient, newEntryId, openSealed, signEntry, userIdFromKey,
  validateExamSealed,
  type CryptoProvider, type Entry, type ExamPlain, type ExamSealed, type InstitutionId, type PartyKeys, type UnsignedEntry, type UserId
} from '@healthchain/core'
import { LedgerError, type AppendResult, type Ledger, type ReadQuery, type UserChain } from '@healthchain/ledger'
import type { NetworkNode, SignedHead } from '@healthchain/net'
import type {
  ChainHeadReply, ChainKeyReply, ChainSummary, EntriesReply, ExamWrite, FindUsersQuery, FindUsersReply, SignedHeadView, UserMatch, UserWrite,
  VerifyReply, WriteReply
} from '../api/chains.js'
import { NodeError } from '../errors.js'
import type { InstitutionKeyring } from '../institution-keyring.js'
import type { ExamSealer } from '../sealing/exam-sealer.js'
import { checkExamUnits } from '../ucum.js'
import { examDigest, ForwardedExams } from './forwarded-exams.js'
import type { AccessPolicy, Caller } from './access.js'
import { grantedKeysFor, viewOf } from './entry-view.js'

export interface ChainsComponents {
  readonly ledger: Ledger
  readonly network: Pick<NetworkNode, 'enrol' | 'read' | 'append' | 'assertMayWrite' | 'isForked' | 'signedHeadOf' | 'knownCosignatures'>
  /** This node's institution and its key generations (it signs and seals examiners' writes with the one in force). */
  readonly institution: { readonly id: InstitutionId, readonly keys: Pick<InstitutionKeyring, 'inForce' | 'boxKeys' | 'refresh'> }
  readonly crypto: CryptoProvider
  /** Seals examiners' exams, on worker threads in the daemon (sealing/exam-sealer.ts). */
  readonly sealer: ExamSealer
  readonly access: AccessPolicy
}

/**
 * An exam as an examiner sends it: the plain part, what to seal, and
 * optionally the entry id (16 bytes) the caller chose, so that a retry of
 * the same write is answered with the first one's position (duplicate)
 * instead of being written twice.
 */
export interface ExamInput { readonly plain: ExamPlain, readonly sealed?: ExamSealed, readonly id?: Uint8Array }

export interface ChainService {
  /** The key this node gives `user`'s chain when it enrols them (the one it has, if it holds the chain). */
  chainKey (user: UserId): Promise<ChainKeyReply>
  /** Enrols a user from the encoded genesis they signed; this node becomes the custodian. */
  enrol (genesis: Uint8Array): Promise<ChainSummary>
  summary (caller: Caller, user: UserId): Promise<ChainSummary>
  /** A caller's write: an examiner's exam (signed and sealed here), or an entry a user signed for their own chain. */
  write (caller: Caller, user: UserId, body: ExamWrite | UserWrite, fieldPrefix?: string): Promise<WriteReply>
  /**
   * An exam written as this institution; units are checked against UCUM first, a refusal naming the field under `fieldPrefix`.
   * With `exam.id` already in the chain: the same exam (this institution's, same plain part, same sealed part once opened)
   * is answered as a duplicate at its position; anything else under that id, an erased entry included, is DUPLICATE_ENTRY.
   */
  writeExam (user: UserId, exam: ExamInput, fieldPrefix?: string): Promise<WriteReply>
  /**
   * The entries as the caller's role may see them (entry-view.ts); with
   * `encoded`, each with its stored bytes, for a user on their own chain or
   * an examiner only (FORBIDDEN otherwise: the ciphertext is not theirs to take away).
   */
  read (caller: Caller, user: UserId, query: ReadQuery, opts?: ReadOptions): Promise<EntriesReply>
  verify (caller: Caller, user: UserId): Promise<VerifyReply>
  /** The chain's signed head held here and the witnesses' valid cosignatures of it (NetworkNode.knownCosignatures: a short, bounded wait). */
  head (caller: Caller, user: UserId): Promise<ChainHeadReply>
  /** Chains held here whose user id starts with `prefix`, in id order, at most `limit` (only those are opened). */
  find (query: FindUsersQuery): Promise<FindUsersReply>
}

export interface ReadOptions {
  /** Every entry with its encoded bytes (hex), so the caller can check the author signature itself. */
  readonly encoded?: boolean
}

/** Roles that may take entries' encoded bytes (sealed envelopes included) away. */
const ENCODED_READERS: ReadonlySet<string> = new Set(['user', 'examiner'])

/** Times an exam is sealed again when a key rotation arrives while it is being sealed. */
const KEY_ATTEMPTS = 3

/** Forwarding errors after which the custodian may or may not have stored the exam (append-forwarding.ts). */
const OUTCOME_UNKNOWN: ReadonlySet<string> = new Set(['TIMEOUT', 'CUSTODIAN_UNREACHABLE', 'STOPPED'])

export function createChainService (components: ChainsComponents): ChainService {
  const { ledger, network, institution, crypto, sealer, access } = components
  const forwarded = new ForwardedExams()

  const summaryOf = (chain: UserChain): ChainSummary => {
    const genesisUser = chain.user
    if (genesisUser === undefined) throw new NodeError('INTERNAL', 'chain without a genesis')
    return {
      userId: genesisUser.userId,
      chainKey: bytesToHex(chain.key),
      custodian: genesisUser.custodian,
      length: chain.writable ? chain.length : chain.verifiedLength,
      verifiedLength: chain.writable ? chain.length : chain.verifiedLength,
      forked: network.isForked(chain.key)
    }
  }

  /**
   * This node's own write to a chain it is custodian of: signed inside the
   * chain's append batch for the position it lands on (appendSigned), then
   * announced as NetworkNode.append would (the ledger's change event reaches
   * the network). The same rules run (the signer must be the author's
   * registered key), but the entry is not encoded, decoded and its fresh
   * signature verified again, as the forwarding path must, and a concurrent
   * write can never make it stale.
   */
  const appendOwnExam = async (user: UserId, chain: UserChain, unsigned: UnsignedEntry, keys: PartyKeys): Promise<AppendResult> => {
    // A restored node holds its own writes until it caught up with its peers (backup/catch-up.ts): CATCHING_UP.
    await network.assertMayWrite(user)
    return await chain.appendSigned(unsigned, keys.sign)
  }

  /** An exam sent to the chain's custodian, signed for each position the forwarding tries. */
  const forward = async (user: UserId, chain: UserChain, unsigned: UnsignedEntry, keys: PartyKeys): Promise<AppendResult> =>
    await network.append(user, (seq) => signEntry(unsigned, { chainKey: chain.key, seq }, keys.sign.secretKey, crypto))

  /** An exam of this institution's, sealed for the user, itself and the examiners the chain's consent grants now; not signed. */
  const sealExam = async (chain: UserChain, exam: ExamInput, keys: PartyKeys): Promise<UnsignedEntry> => {
    const id = exam.id ?? newEntryId(crypto)
    const sealed = await sealer.seal({
      payload: exam.sealed ?? {}, recipients: chain.examRecipients(keys.box.publicKey), ctx: { chainKey: chain.key, entryId: id }
    })
    // The registry length is read after sealing, so the entry names the registry as it is when it is signed.
    return assembleExam({ id, author: institution.id, reg: ledger.registry.length, plain: exam.plain, sealed })
  }

  /** Whether `keys` are still the ones the registry lists at `length` (false also while a newer key file is not read yet). */
  const inForceAt = (length: number, keys: PartyKeys): boolean => {
    try {
      return institution.keys.inForce(length) === keys
    } catch {
      return false
    }
  }

  const service: ChainService = {
    async chainKey (user) {
      const key = ledger.hasChain(user) ? (await ledger.chain(user)).key : await ledger.chainKeyFor(user)
      return { userId: user, chainKey: bytesToHex(key), custodian: institution.id }
    },

    async enrol (genesis) {
      return summaryOf(await network.enrol(decodeEntry(genesis)))
    },

    async summary (caller, user) {
      return summaryOf(await access.readableChain(caller, user))
    },

    async write (caller, user, body, fieldPrefix = '') {
      if (caller.role === 'examiner') {
        if (!('type' in body)) throw new NodeError('FORBIDDEN', 'an examiner sends { type: "exam", plain, sealed }: the node signs as the institution')
        const { plain, sealed, id } = body
        const exam: ExamInput = { plain, ...(sealed === undefined ? {} : { sealed }), ...(id === undefined ? {} : { id: hexToBytes(id) }) }
        return await service.writeExam(user, exam, fieldPrefix)
      }
      if (caller.role !== 'user' || caller.subject !== user) throw new NodeError('FORBIDDEN', 'a user writes to their own chain only')
      if (!('entry' in body)) throw new NodeError('FORBIDDEN', 'a user sends an entry signed on their device: { entry, seq }')
      return await writeUserEntry(user, body)
    },

    async writeExam (user, exam, fieldPrefix = '') {
      checkExamUnits(exam, fieldPrefix)
      const chain = await ledger.chain(user)
      if (exam.id !== undefined) {
        const retry = await retryOf(chain, exam.id, exam)
        if (retry !== undefined) return retry
      }
      // An exam under an id the caller chose, sent to the custodian: sealed once for all its sends (forwarded-exams.ts).
      const retryable = exam.id !== undefined && !chain.writable ? { id: exam.id, digest: examDigest(exam) } : undefined
      for (let attempt = 1; ; attempt++) {
        await institution.keys.refresh()
        // The keys the registry lists now; a rotation arriving while sealing is caught below, and the exam sealed again.
        const keys = institution.keys.inForce()
        const seal = async (): Promise<UnsignedEntry> => await sealExam(chain, exam, keys)
        const unsigned = retryable === undefined ? await seal() : await forwarded.sealedFor(chain.key, retryable.id, retryable.digest, seal)
        if (attempt < KEY_ATTEMPTS && !inForceAt(unsigned.reg!, keys)) {
          forwarded.forget(chain.key, unsigned)
          continue
        }
        if (chain.writable) {
          const result = await appendOwnExam(user, chain, unsigned, keys)
          return { seq: result.seq, id: bytesToHex(unsigned.id), duplicate: result.duplicate }
        }
        try {
          const result = await forward(user, chain, unsigned, keys)
          return { seq: result.seq, id: bytesToHex(unsigned.id), duplicate: result.duplicate }
        } catch (err) {
          // Refused, or never sent: the next send is sealed again, for the chain as it is then. Sent and not answered: kept.
          if (!OUTCOME_UNKNOWN.has((err as { code?: string }).code ?? '')) forwarded.forget(chain.key, unsigned)
          throw err
        }
      }
    },

    async read (caller, user, query, opts = {}) {
      if (opts.encoded === true && !ENCODED_READERS.has(caller.role)) {
        throw new NodeError('FORBIDDEN', `role ${caller.role} may not take entries' encoded bytes: users (own chain) and examiners only`)
      }
      const chain = await access.readableChain(caller, user)
      const read = await network.read(chain.userId!, query)
      const examiner = caller.role === 'examiner'
      if (examiner) await institution.keys.refresh()
      const granted = examiner ? grantedKeysFor(await chain.read({ types: ['consent'] }), institution.id) : undefined
      // Each seal is bound to the key of the core its entry was written in (a chain that moved spans several).
      const keyAt = (seq: number): Uint8Array => chain.keyAt(seq)
      const ctx = { role: caller.role, chainKey: chain.key, keyAt, crypto, ...(examiner ? { boxes: institution.keys.boxKeys(), granted } : {}) }
      return {
        userId: chain.userId!,
        chainKey: bytesToHex(chain.key),
        verifiedLength: read.verifiedLength,
        forked: read.fork !== undefined,
        // Decoding was canonical, so encoding again gives the stored block byte for byte.
        entries: read.entries.map((e) => opts.encoded === true ? { ...viewOf(e, ctx), encoded: bytesToHex(encodeEntry(e.entry)) } : viewOf(e, ctx))
      }
    },

    async head (caller, user) {
      const chain = await access.readableChain(caller, user)
      const head = await network.signedHeadOf(chain.userId!)
      const known = await network.knownCosignatures(chain.key)
      return {
        chainKey: bytesToHex(chain.key),
        head: head === undefined ? null : headView(head),
        cosignatures: known.cosignatures.map((c) => ({ witness: c.witness, head: headView(c.head), sig: bytesToHex(c.sig) })),
        witnesses: known.witnesses
      }
    },

    async find ({ prefix, limit }) {
      // The catalog's user ids are in memory: only the matches kept are opened (for the custodian the genesis names).
      const matches = ledger.users().filter((u) => u.startsWith(prefix)).sort().slice(0, limit)
      const users: UserMatch[] = []
      for (const user of matches) {
        const summary = await ledger.withChain(user, async (chain) => chain.user === undefined ? undefined : summaryOf(chain))
        if (summary !== undefined) users.push({ userId: summary.userId, custodian: summary.custodian, length: summary.length, forked: summary.forked })
      }
      return { users }
    },

    async verify (caller, user) {
      const chain = await access.readableChain(caller, user)
      const report = await ledger.verify(chain.userId!)
      const forked = network.isForked(chain.key)
      return {
        chainKey: report.chainKey,
        userId: report.userId ?? null,
        segments: report.segments.map((s) => ({ ...s })),
        length: report.length,
        valid: report.valid && !forked,
        verified: report.verified,
        tree: { ok: report.tree.ok, blocksChecked: report.tree.blocksChecked, problem: report.tree.problem ?? null },
        erased: [...report.erased],
        missing: [...report.missing],
        problems: report.problems.map((p) => ({ seq: p.seq ?? null, code: p.code, message: p.message })),
        forked
      }
    }
  }

  /**
   * A retried exam: its id is in the chain already, as far as this node has it checked (a custodian: every entry
   * written, once the appends under way are; a replica: what it verified, which the custodian stored). It is the same
   * write when the stored entry is this institution's exam with the same plain part and, opened with this
   * institution's keys (the writer is always a recipient), the same sealed part: the ciphertext cannot be compared,
   * sealing draws a fresh data key each time. An erased original holds nothing to compare, not even its author:
   * DUPLICATE_ENTRY, as for any other entry under that id (the id is taken; nothing is written again).
   */
  const retryOf = async (chain: UserChain, id: Uint8Array, exam: ExamInput): Promise<WriteReply | undefined> => {
    const seq = await chain.findId(id)
    if (seq === undefined) return undefined
    // At the custodian, an id can be in an append batch being written: its answer decides.
    if (chain.writable && seq >= chain.length) await chain.settled()
    if (seq >= (chain.writable ? chain.length : chain.verifiedLength)) return undefined
    const stored = await chain.get(seq)
    if (stored === null) throw new LedgerError('DUPLICATE_ENTRY', `entry id is already used at position ${seq}, by an entry since erased`)
    const same = stored.type === 'exam' && stored.author === institution.id &&
      equal(encodeCanonical(stored.plain), encodeCanonical(exam.plain)) && sealedPartIs(stored, chain.keyAt(seq), exam.sealed ?? {})
    if (!same) throw new LedgerError('DUPLICATE_ENTRY', `entry id is already used at position ${seq} by a different entry`)
    return { seq, id: bytesToHex(id), duplicate: true }
  }

  /** Whether a stored exam's sealed part opens, with one of this institution's key generations, to `sealed`. */
  const sealedPartIs = (stored: Extract<Entry, { type: 'exam' }>, chainKey: Uint8Array, sealed: ExamSealed): boolean => {
    const expected = encodeCanonical(validateExamSealed(sealed))
    const envelope = stored.sealed
    const box = envelope === undefined ? undefined : institution.keys.boxKeys().find((b) => isRecipient(envelope, b.publicKey))
    if (envelope === undefined || box === undefined) return false
    try {
      return equal(encodeCanonical(openSealed(envelope, box, { chainKey, entryId: stored.id }, crypto)), expected)
    } catch {
      // Not this institution's to open after all (damaged, or sealed for another entry): not the same write.
      return false
    }
  }

  const writeUserEntry = async (user: UserId, body: UserWrite): Promise<WriteReply> => {
    const entry: Entry = decodeEntry(hexToBytes(body.entry))
    if (entry.author !== 'user') throw new NodeError('FORBIDDEN', 'a user writes entries authored by the user only')
    if (!can('user', 'write', entry.type)) throw new NodeError('FORBIDDEN', `a user may not write ${entry.type} entries`)
    // Signed for one position: no re-signing here, so a stale position is answered (409 STALE_POSITION) for the device to re-sign.
    const result = await network.append(user, () => entry, { knownLength: body.seq, retries: 0 })
    return { seq: result.seq, id: bytesToHex(entry.id), duplicate: result.duplicate }
  }

  return service
}

/** The user a genesis names, if `genesis` decodes as one (the enrol route's audit target); undefined otherwise. */
export function userOfGenesis (genesis: Uint8Array): UserId | undefined {
  try {
    const entry = decodeEntry(genesis)
    return entry.type === 'genesis' ? userIdFromKey(entry.plain.user.sign) : undefined
  } catch {
    return undefined
  }
}

/** A signed head as the API writes it. */
export function headView (head: SignedHead): SignedHeadView {
  return {
    key: bytesToHex(head.key), signer: bytesToHex(head.signer), length: head.length, fork: head.fork, root: bytesToHex(head.root), sig: bytesToHex(head.sig)
  }
}

/** Hex the request schema already checked (even length, hex digits) as bytes. */
export function hexToBytes (hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'))
}

/**
 * A chain moving here, as a service knowing nothing of HTTP. This node is to
 * become the custodian:
 *
 *   offer      the ledger's offer { key, length, plain } for the user's
 *              chain; if the copy here is not complete and verified
 *              (MISSING_BLOCK, or no copy at all when the caller names the
 *              chain key), it is fetched from the peers first — the old
 *              custodian may be gone, and any replica (a regulator) serves it
 *   continue   the user-signed migrate for that offer: the ledger copies the
 *              prologue and appends the migrate through the chain rules (a
 *              signature not the user's key in force, a head that is not the
 *              chain's, a custodian not an active examiner are refused there);
 *              a retry answers the same, another migrate is ALREADY_ENROLLED
 *   takeOver   under a governance reassignment of the chain's custodian to
 *              this institution, from its date on: this node writes the
 *              migrate itself, as the institution, against its registry (`reg`)
 */
import {
  bytesToHex, decodeEntry, ENTRY_VERSION, equal, newEntryId, parseUnsignedEntry, signEntry,
  type CryptoProvider, type InstitutionId, type MigratePlain, type UserId
} from '@healthchain/core'
import { LedgerError, type Ledger, type ContinuationOffer as LedgerOffer } from '@healthchain/ledger'
import { NetError, type NetworkNode } from '@healthchain/net'
import type { ContinuationOffer, ContinuedReply, MigratePlainView } from '../api/custody.js'
import { NodeError } from '../errors.js'
import type { InstitutionKeyring } from '../institution-keyring.js'
import type { Caller } from './access.js'

/** How long an offer or a move waits for peers to serve the chain's missing blocks. */
export const CUSTODY_FETCH_TIMEOUT_MS = 60_000

export interface CustodyComponents {
  readonly ledger: Ledger
  readonly network: Pick<NetworkNode, 'replication' | 'assertMayWrite'>
  readonly institution: { readonly id: InstitutionId, readonly keys: Pick<InstitutionKeyring, 'inForce' | 'refresh'> }
  readonly crypto: CryptoProvider
  /** Default CUSTODY_FETCH_TIMEOUT_MS. */
  readonly fetchTimeoutMs?: number
}

export interface CustodyService {
  /** What the user signs to move their chain here; `chainKey` lets a node that holds no copy yet fetch it. */
  offer (caller: Caller, user: UserId, opts?: { chainKey?: Uint8Array }): Promise<ContinuationOffer>
  /** Moves the chain here with the user's signed migrate (encoded entry); a retry answers the same. */
  continueWith (caller: Caller, user: UserId, migrate: Uint8Array): Promise<ContinuedReply>
  /** Moves the chain here with a migrate this institution writes, as a governance reassignment allows. */
  takeOver (user: UserId): Promise<ContinuedReply>
}

export function createCustodyService (components: CustodyComponents): CustodyService {
  const { ledger, network, institution, crypto } = components
  const timeoutMs = components.fetchTimeoutMs ?? CUSTODY_FETCH_TIMEOUT_MS

  /** Only an active examiner takes chains over: refused here, before any fetch, with the codes the chain rules use. */
  const assertCustodianHere = (): void => {
    const record = ledger.registry.state.institutionAt(institution.id)
    if (record === undefined) throw new LedgerError('UNKNOWN_AUTHOR', `the registry lists no institution ${institution.id}`)
    if (record.role !== 'examiner') throw new LedgerError('ROLE_FORBIDDEN', `${institution.id} is a${record.role === 'inquirer' ? 'n' : ''} ${record.role}: only examiners hold chains`)
    if (record.status !== 'active') throw new LedgerError('AUTHOR_SUSPENDED', `${institution.id} is suspended: it takes no chain over`)
  }

  /**
   * The ledger's offer, with the chain fetched from the peers first when the
   * copy here is short (or absent and `key` names it). Returns the blocks fetched.
   */
  const offerHere = async (user: UserId, key: Uint8Array | undefined): Promise<{ offer: LedgerOffer, fetched: number }> => {
    const held = ledger.hasChain(user)
    // A restored custodian offers its chain only once caught up: an offer from a stale length would move a chain peers hold longer.
    if (held) await network.assertMayWrite(user)
    if (!held && key === undefined) throw new LedgerError('UNKNOWN_CHAIN', `no chain is held here for user ${user}: name its key to fetch it from the peers`)
    if (held) {
      try {
        return { offer: await ledger.offerContinuation(user), fetched: 0 }
      } catch (err) {
        if (!(err instanceof LedgerError && err.code === 'MISSING_BLOCK')) throw err
      }
    }
    const chainKey = held ? (await ledger.chain(user)).key : key!
    const before = held ? (await ledger.chain(user)).verifiedLength : 0
    let after: number
    try {
      const { chain, ingest } = await network.replication.fetchChain(user, chainKey, { timeoutMs })
      if (ingest.problem !== undefined) {
        throw new LedgerError(ingest.problem.code as LedgerError['code'], `the chain fetched from the peers fails at ${ingest.problem.seq}: ${ingest.problem.message}`)
      }
      after = chain.verifiedLength
    } catch (err) {
      if (err instanceof NetError) {
        throw new NetError(err.code, `the chain is not complete here and no peer served it in full (${err.message})`, { cause: err })
      }
      throw err
    }
    return { offer: await ledger.offerContinuation(user), fetched: Math.max(0, after - before) }
  }

  const movedReply = (user: UserId, chain: { key: Uint8Array }, plain: MigratePlain): ContinuedReply => ({
    userId: user, chainKey: bytesToHex(chain.key), length: plain.length, from: bytesToHex(plain.from), custodian: plain.to
  })

  return {
    async offer (caller, user, opts = {}) {
      if (caller.role === 'user' && caller.subject !== user) throw new NodeError('FORBIDDEN', 'a user moves their own chain only')
      assertCustodianHere()
      const { offer, fetched } = await offerHere(user, opts.chainKey)
      return { userId: user, key: bytesToHex(offer.key), length: offer.length, plain: plainView(offer.plain), fetched }
    },

    async continueWith (caller, user, encoded) {
      if (caller.role === 'user' && caller.subject !== user) throw new NodeError('FORBIDDEN', 'a user moves their own chain only')
      const migrate = decodeEntry(encoded)
      if (migrate.type !== 'migrate') throw new LedgerError('INVALID_FIELD', `expected a migrate entry, got ${migrate.type}`, { field: 'body.migrate' })
      if (migrate.author !== 'user') throw new NodeError('FORBIDDEN', 'a migrate sent here is the user\'s; staff take a reassigned chain over with { reassigned: true }')
      assertCustodianHere()
      // A chain held short here is completed first (from the key the migrate names), so the offer it is checked against exists.
      // (A chain that moved already is a retry or a second migrate: the ledger answers those.)
      if (!ledger.hasChain(user) || equal((await ledger.chain(user)).key, migrate.plain.from)) await offerHere(user, migrate.plain.from)
      const chain = await ledger.continueChain(user, migrate)
      return movedReply(user, chain, migrate.plain)
    },

    async takeOver (user) {
      assertCustodianHere()
      const { offer } = await offerHere(user, undefined)
      await institution.keys.refresh()
      const keys = institution.keys.inForce()
      const unsigned = parseUnsignedEntry({
        v: ENTRY_VERSION, type: 'migrate', id: newEntryId(crypto), time: Date.now(), author: institution.id, reg: ledger.registry.length, plain: offer.plain
      })
      const migrate = signEntry(unsigned, { chainKey: offer.key, seq: offer.length }, keys.sign.secretKey, crypto)
      const chain = await ledger.continueChain(user, migrate)
      return movedReply(user, chain, offer.plain)
    }
  }
}

/** The migrate's plain segment as JSON: bytes as hex. */
export function plainView (plain: MigratePlain): MigratePlainView {
  return {
    from: bytesToHex(plain.from),
    length: plain.length,
    fork: plain.fork,
    prologue: bytesToHex(plain.prologue),
    signer: bytesToHex(plain.signer),
    headSig: bytesToHex(plain.headSig),
    to: plain.to,
    lineage: plain.lineage.map((link) => ({ key: bytesToHex(link.key), length: link.length, prologue: bytesToHex(link.prologue) }))
  }
}

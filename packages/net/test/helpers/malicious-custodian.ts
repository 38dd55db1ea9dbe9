/**
 * A custodian that lies, for tests: it holds a chain's writing key, so it can
 * put any bytes in the chain — Hypercore signs whatever its writer appends.
 * What it cannot do is sign as the user or as another institution. These
 * helpers append blocks past every rule (`UserChain` checks nothing here) and
 * announce the new head, so replicas fetch what an honest custodian would
 * never have written:
 *
 * - `forgedGrant`: a consent grant "from the user", signed with the
 *   custodian's own key (BAD_SIGNATURE on every honest replica);
 * - `examSealedFor`: an exam by the custodian, validly signed, sealed for
 *   recipients the user never granted (CONSENT_VIOLATION);
 * - `rawAppend`: any entry, signed however the test likes.
 */
import {
  buildExam, buildGrant, encodeEntry, signEntry,
  type Entry, type InstitutionId, type UnsignedEntry, type UserId
} from '@healthchain/core'
import type { NetworkNode } from '@healthchain/net'
import type { Ledger, UserChain } from '@healthchain/ledger'
import { coreOf } from '@healthchain/ledger/testing'
import { crypto, type Party } from '@healthchain/net/testing'

export class MaliciousCustodian {
  readonly ledger: Ledger
  readonly party: Party
  private readonly announce: (user: UserId) => void

  /** `announce` publishes a chain's new head (HeadsService.announce); a custodian cut off from the network has none. */
  constructor (ledger: Ledger, party: Party, announce: (user: UserId) => void = () => {}) {
    this.ledger = ledger
    this.party = party
    this.announce = announce
  }

  /** The liar at a running node: what it appends is announced like any head. */
  static at (node: NetworkNode, party: Party): MaliciousCustodian {
    return new MaliciousCustodian(node.ledger, party, (user) => { node.heads.announce(user) })
  }

  private async chain (user: UserId): Promise<UserChain> {
    const chain = await this.ledger.chain(user)
    if (!chain.writable) throw new Error(`${this.party.id} is not the custodian of ${user}'s chain`)
    return chain
  }

  /**
   * Appends the entry `make` builds for the chain's next position, bypassing
   * every rule, and announces the chain's new head. Returns the position.
   */
  async rawAppend (user: UserId, make: (slot: { chainKey: Uint8Array, seq: number }) => Entry): Promise<number> {
    const chain = await this.chain(user)
    await chain.settled()
    const seq = coreOf(chain).length
    await coreOf(chain).append(encodeEntry(make({ chainKey: chain.key, seq })))
    this.announce(user)
    return seq
  }

  /** A consent grant for `examiner` in the user's name, signed with the custodian's key instead of the user's. */
  async forgedGrant (user: UserId, examiner: Party): Promise<number> {
    return await this.rawAppend(user, (slot) => {
      const unsigned: UnsignedEntry = buildGrant({
        examiner: examiner.id,
        examinerBox: examiner.keys.box.publicKey,
        chainKey: slot.chainKey,
        userBox: { publicKey: new Uint8Array(32), secretKey: new Uint8Array(32) }
      }, crypto)
      return signEntry(unsigned, slot, this.party.keys.sign.secretKey, crypto)
    })
  }

  /** An exam the custodian signs properly, sealed for `recipients` (X25519 keys) whatever the user granted. */
  async examSealedFor (user: UserId, recipients: readonly Uint8Array[], opts: { reg?: number, author?: Party } = {}): Promise<number> {
    const author = opts.author ?? this.party
    return await this.rawAppend(user, (slot) => signEntry(buildExam({
      author: author.id as InstitutionId,
      reg: opts.reg ?? this.ledger.registry.length,
      chainKey: slot.chainKey,
      plain: { title: 'Forged visit', observations: [{ code: '8480-6', value: 180, unit: 'mm[Hg]' }] },
      sealed: { notes: 'for eyes the user never chose' },
      recipients
    }, crypto), slot, author.keys.sign.secretKey, crypto))
  }
}

/**
 * Recording a fork proof, wherever it came from (this node's checks, a
 * peer's gossip or forks-sync, Hypercore's `conflict`): kept (KnownForks),
 * published on `/healthchain/forks/1` unless gossip relays it already, and
 * its two heads logged as evidence (heads-sync carries them). The flow
 * around this is told at the top of heads.ts.
 */
import { bytesToHex } from '@healthchain/core'
import type { Ledger } from '@healthchain/ledger'
import type { HeadLog, RecentHeads } from './head-log.js'
import { FORKS_TOPIC } from './heads-gossip.js'
import type { HeadsStats } from './heads-types.js'
import type { KnownForks } from './known-forks.js'
import { flaggedByMoveProof } from './move-proofs.js'
import { encodeAnyForkProof, type AnyForkProof } from './wire/any-fork-proof.js'
import { MOVE_FORK_PROOF_VERSION } from './wire/move-fork-proof.js'

export interface HeadForksComponents {
  readonly ledger: Ledger
  readonly knownForks: KnownForks
  readonly log: HeadLog
  readonly recent: RecentHeads
  readonly stats: HeadsStats
  /** Publishes on a gossip topic. */
  readonly publish: (topic: string, data: Uint8Array) => Promise<unknown>
  /** No more recording (the service stopped). */
  readonly stopped: () => boolean
}

export class HeadForks {
  private readonly components: HeadForksComponents

  constructor (components: HeadForksComponents) {
    this.components = components
  }

  /**
   * Records a verified fork proof: persisted for a chain held here (its
   * genesis was checked: a custodian the registry lists), kept in memory
   * within `maxUnheldForks` for any other (anyone can sign two histories of
   * a core of their own). `relayed`: it came by gossip, which relays it
   * already — a proof of a chain not held is then not published again, so
   * two nodes that each dropped it cannot pass it back and forth.
   */
  async record (proof: AnyForkProof, relayed = false): Promise<void> {
    const { knownForks, ledger, stats } = this.components
    if (!knownForks.opened || this.components.stopped()) return
    const held = ledger.userOfChain(proof.a.key) !== undefined
    if (!await knownForks.record(proof, held, ledger.crypto)) return
    stats.forks++
    this.logEvidence(proof)
    if (!held && relayed) return
    try {
      await this.components.publish(FORKS_TOPIC, encodeAnyForkProof(proof))
    } catch {
      stats.publishFailed++
    }
  }

  /** A fork's two heads go in the head log under their own ids (heads-sync carries them), and the custodian is looked up. */
  logEvidence (proof: AnyForkProof): void {
    const { knownForks, ledger, log, recent } = this.components
    const keyHex = bytesToHex(proof.a.key)
    log.put(`${keyHex}/fork/a`, proof.a)
    log.put(`${keyHex}/fork/b`, proof.b)
    const user = ledger.userOfChain(proof.a.key)
    recent.remember(keyHex, proof.a, user !== undefined)
    if (user !== undefined && proof.v === MOVE_FORK_PROOF_VERSION) {
      // The chain moved on: its custodian now is not the one that wrote on the old core.
      flaggedByMoveProof(ledger, proof).then((custodian) => { if (custodian !== undefined) knownForks.setCustodian(keyHex, custodian) }, () => {})
    } else if (user !== undefined) {
      ledger.chain(user).then((chain) => {
        const custodian = chain.user?.custodian
        if (custodian !== undefined) knownForks.setCustodian(keyHex, custodian)
      }, () => {})
    }
  }
}

/** A user enrolled straight on a ledger (no network), with exams already written: the start of many replication tests. */
import {
  buildExam, buildGenesis, newRecoveryPhrase, signEntry, userKeysFromPhrase, type CryptoProvider, type UserKeys
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import type { Ledger, UserChain } from '../index.js'
import type { Institution } from './consortium.js'

/**
 * Enrols a new user at `ledger` with `custodian` as custodian, then appends
 * `exams` blood-pressure exams written by it (value 120 + i, sealed note
 * "visit i", sealed for the user and the custodian).
 */
export async function enrolWithExams (
  ledger: Ledger, custodian: Institution, exams: number, crypto: CryptoProvider = sodiumProvider
): Promise<{ user: UserKeys, chainKey: Uint8Array, chain: UserChain }> {
  const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
  const chainKey = await ledger.chainKeyFor(user.userId)
  const chain = await ledger.enrol(signEntry(buildGenesis(user, custodian.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
  for (let i = 0; i < exams; i++) {
    await chain.appendSigned(buildExam({
      author: custodian.id,
      reg: ledger.registry.length,
      chainKey,
      plain: { observations: [{ code: '8480-6', value: 120 + i, unit: 'mm[Hg]' }] },
      sealed: { notes: `visit ${i}` },
      recipients: chain.examRecipients(custodian.keys.box.publicKey)
    }, crypto), custodian.keys.sign)
  }
  return { user, chainKey, chain }
}

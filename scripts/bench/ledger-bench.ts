/**
 * Ledger benchmarks (issue: foundation):
 * - sealed exam entries (about 1 KiB, three recipients) appended per second,
 *   one at a time and batched, beside the same signing and sealing work done
 *   alone (the crypto bound) and beside raw Hypercore appends of the same bytes;
 * - whole-chain verification (entries per second) beside raw Ed25519
 *   verification of the same number of signatures.
 * Targets: batched appends >= 0.70x the crypto bound; verification >= 0.80x raw verify.
 */
import { benchExamPlain, benchExamSealed } from './fixtures.js'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import {
  buildExam, buildGenesis, encodeEntry, entrySigningMessage, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type UnsignedEntry
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { VerifyPool, verifyChain } from '@healthchain/ledger'
import { LedgerConsortium, coreOf, makeInstitution } from '@healthchain/ledger/testing'
import { cryptoBoundRun } from './crypto-bound.js'
import { interleavedRates, rate, type Figure } from './measure.js'

const SECTION = 'ledger'

const plain = benchExamPlain
const sealed = benchExamSealed

export async function ledgerBench (opts: { count: number }): Promise<Figure[]> {
  const { count } = opts
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-bench-'))
  const figures: Figure[] = []
  try {
    const hospital = makeInstitution('hospital-a', 'examiner')
    const other = makeInstitution('hospital-b', 'examiner')
    // The consortium harness admits both into a fresh registry in hospital-a's ledger (closed below; the directory is removed at the end).
    const consortium = await LedgerConsortium.create({
      parties: [hospital, other], name: 'Bench consortium', dir, ledgerDir: () => join(dir, 'ledger'), ledger: { crypto }
    })
    const ledger = await consortium.ledger(hospital.id)
    const registry = ledger.registry

    const newChain = async () => {
      const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
      const chainKey = await ledger.chainKeyFor(user.userId)
      return { user, chain: await ledger.enrol(signEntry(buildGenesis(user, hospital.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)) }
    }

    // Three recipients: the user, the writing hospital, and a granted hospital.
    const prepare = (chainKey: Uint8Array, userBox: Uint8Array): UnsignedEntry => buildExam({
      author: hospital.id,
      reg: registry.length,
      chainKey,
      plain,
      sealed,
      recipients: [userBox, hospital.keys.box.publicKey, other.keys.box.publicKey]
    }, crypto)
    // The chain's consent allows only granted examiners; grant hospital-b on every bench chain.
    const { buildGrant } = await import('@healthchain/core')
    const withGrant = async () => {
      const c = await newChain()
      const grant = buildGrant({ examiner: other.id, examinerBox: other.keys.box.publicKey, chainKey: c.chain.key, userBox: c.user.box }, crypto)
      await c.chain.append(signEntry(grant, { chainKey: c.chain.key, seq: 1 }, c.user.sign.secretKey, crypto), 1)
      return c
    }

    const sample = signEntry(
      prepare(crypto.randomBytes(32), hospital.keys.box.publicKey), { chainKey: crypto.randomBytes(32), seq: 1 }, hospital.keys.sign.secretKey, crypto
    )
    figures.push({ section: SECTION, name: 'sealed exam entry size', value: encodeEntry(sample).length, unit: 'bytes' })

    // The crypto bound (crypto-bound.ts): the same sealing (three recipients) and one Ed25519 signature, nothing else.
    const boundRecipients = [hospital.keys.box.publicKey, other.keys.box.publicKey, crypto.randomBytes(32)]
    const boundRun = cryptoBoundRun({ crypto, signSecretKey: hospital.keys.sign.secretKey, recipients: boundRecipients, sealed, sample }, count)

    // Chains are enrolled before the clock starts (deriving a user's keys from a phrase is deliberately slow).
    const chainsFor = async (n: number) => await Promise.all(Array.from({ length: n }, withGrant))
    const rounds = { repeats: 5, warmups: 1 }
    let verifyTarget: { chain: Awaited<ReturnType<typeof withGrant>>['chain'] } | undefined
    const batchedChains = await chainsFor(rounds.warmups + rounds.repeats)
    const appendBatched = async () => {
      const { chain, user } = batchedChains.shift()!
      const pending: Array<Promise<unknown>> = []
      for (let i = 0; i < count; i++) {
        const unsigned = prepare(chain.key, user.box.publicKey)
        pending.push(chain.appendSigned(unsigned, hospital.keys.sign))
      }
      await Promise.all(pending)
      verifyTarget = { chain }
    }
    // The bound and batched appends are measured in turns (see interleavedRates), so their ratio compares them under the same load.
    const [cryptoBound, batched] = await interleavedRates(count, [boundRun, appendBatched], rounds)
    figures.push({ section: SECTION, name: 'seal (3 recipients) + sign alone: crypto bound', value: cryptoBound!, unit: 'entries/s' })

    const oneChains = await chainsFor(3)
    const appendOne = async () => {
      const { chain, user } = oneChains.shift()!
      for (let i = 0; i < count; i++) {
        const unsigned = prepare(chain.key, user.box.publicKey)
        await chain.appendSigned(unsigned, hospital.keys.sign)
      }
    }
    const single = await rate(count, appendOne)
    figures.push({ section: SECTION, name: 'sealed appends, one at a time', value: single, unit: 'entries/s', ratio: { against: 'crypto bound', value: single / cryptoBound! } })
    figures.push({ section: SECTION, name: 'sealed appends, batched', value: batched!, unit: 'entries/s', ratio: { against: 'crypto bound', value: batched! / cryptoBound!, target: 0.7 } })

    // Raw Hypercore: the same bytes, one per call and in batches of 100.
    const rawStore = new Corestore(join(dir, 'raw'), { active: false })
    const block = encodeEntry(sample)
    let rawN = 0
    const rawOne = await rate(count, async () => {
      const core = rawStore.get({ name: `raw-${rawN++}`, active: false })
      for (let i = 0; i < count; i++) await core.append(block)
      await core.close()
    })
    figures.push({ section: SECTION, name: 'raw hypercore append, one per call', value: rawOne, unit: 'blocks/s' })
    const rawBatch = await rate(count, async () => {
      const core = rawStore.get({ name: `raw-${rawN++}`, active: false })
      const blocks = new Array<Uint8Array>(100).fill(block)
      for (let i = 0; i < count; i += 100) await core.append(blocks)
      await core.close()
    })
    figures.push({ section: SECTION, name: 'raw hypercore append, 100 per call', value: rawBatch, unit: 'blocks/s' })
    await rawStore.close()

    // Verification: the last batched chain, all of it, against raw verify of as many signatures.
    const target = verifyTarget!.chain
    // Same message length as an entry's signing message, so the hashing inside verify costs the same.
    const messageLength = entrySigningMessage(sample, { chainKey: target.key, seq: 1 }).length
    const msgs = Array.from({ length: target.length }, () => crypto.randomBytes(messageLength))
    const sigs = msgs.map((m) => crypto.sign(m, hospital.keys.sign.secretKey))
    const rawVerifyRun = (): void => {
      for (let i = 0; i < msgs.length; i++) if (!crypto.verify(msgs[i]!, sigs[i]!, hospital.keys.sign.publicKey)) throw new Error('bench: raw verify failed')
    }
    const verifyOnce = (pool: VerifyPool | undefined) => async (): Promise<void> => {
      const report = await verifyChain(coreOf(target), registry.state, crypto, pool === undefined ? {} : { pool })
      if (!report.valid) throw new Error(`bench: chain does not verify: ${report.problems[0]?.code}`)
    }
    const pool = new VerifyPool()
    try {
      // In turns, as the appends above; three untimed rounds first, since a pool's workers take a few runs to settle (start-up, JIT).
      const [rawVerify, inline, pooled] = await interleavedRates(
        target.length, [rawVerifyRun, verifyOnce(undefined), verifyOnce(pool)], { repeats: 5, warmups: 3 }
      )
      figures.push({ section: SECTION, name: 'raw ed25519 verify (libsodium)', value: rawVerify!, unit: 'sigs/s' })
      figures.push({ section: SECTION, name: `whole-chain verification, one thread (${target.length} entries)`, value: inline!, unit: 'entries/s', ratio: { against: 'raw verify', value: inline! / rawVerify! } })
      figures.push({ section: SECTION, name: `whole-chain verification, ${pool.size} worker(s) + caller (${target.length} entries)`, value: pooled!, unit: 'entries/s', ratio: { against: 'raw verify', value: pooled! / rawVerify!, target: 0.8 } })
    } finally {
      await pool.close()
    }

    await ledger.close()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return figures
}

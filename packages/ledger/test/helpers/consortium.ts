/**
 * A consortium for tests: governance keys, four institutions (two examiners,
 * an inquirer, a regulator), a ledger on disk in a fresh temporary directory
 * that created the registry and admitted them all, and users with keys.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  buildExam, buildGenesis, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type ExamPlain, type ExamSealed, type InstitutionId, type InstitutionRole, type PartyKeys, type UserKeys
} from '@healthchain/core'
import { sodiumProvider } from '@healthchain/core/sodium'
import { Ledger, type UserChain } from '../../src/index.js'

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
  /** Reopens hospital-a's ledger from disk (after close). */
  reopen (): Promise<Ledger>
  cleanup (): Promise<void>
}

function institution (id: string, role: InstitutionRole): TestInstitution {
  return { id: id as InstitutionId, role, keys: generatePartyKeys(crypto) }
}

export async function makeTempDir (prefix = 'healthchain-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

export async function makeConsortium (): Promise<TestConsortium> {
  const dir = await makeTempDir()
  const governance = generatePartyKeys(crypto)
  const institutions = {
    hospitalA: institution('hospital-a', 'examiner'),
    hospitalB: institution('hospital-b', 'examiner'),
    agency: institution('agency', 'inquirer'),
    regulator: institution('regulator', 'regulator')
  }
  const ledgerDir = join(dir, 'hospital-a')
  const ledger = await Ledger.open({ dir: ledgerDir, institution: institutions.hospitalA.id, crypto })
  const registry = await ledger.createRegistry(governance.sign, 'Test consortium')
  for (const inst of Object.values(institutions)) {
    await registry.append('admit', {
      institution: inst.id, name: inst.id, role: inst.role, sign: inst.keys.sign.publicKey, box: inst.keys.box.publicKey
    }, governance.sign)
  }
  const consortium: TestConsortium = {
    dir,
    governance,
    institutions,
    ledger,
    async reopen () {
      consortium.ledger = await Ledger.open({ dir: ledgerDir, institution: institutions.hospitalA.id, crypto })
      return consortium.ledger
    },
    async cleanup () {
      await consortium.ledger.close()
      await rm(dir, { recursive: true, force: true })
    }
  }
  return consortium
}

export function newUser (): UserKeys {
  return userKeysFromPhrase(newRecoveryPhrase(), crypto)
}

/** Enrols `user` at the ledger's institution. */
export async function enrol (ledger: Ledger, user: UserKeys): Promise<UserChain> {
  const chainKey = await ledger.chainKeyFor(user.userId)
  const genesis = signEntry(buildGenesis(user, ledger.institution!, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto)
  return await ledger.enrol(genesis)
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

/** Writes an exam as `author` through the custodian's signing path. */
export async function writeExam (ledger: Ledger, chain: UserChain, author: TestInstitution, opts: { sealed?: ExamSealed, plain?: ExamPlain } = {}): Promise<number> {
  const reg = ledger.registry.length
  const unsigned = buildExam({
    author: author.id, reg, chainKey: chain.key,
    plain: opts.plain ?? samplePlain, sealed: opts.sealed ?? sampleSealed,
    recipients: chain.examRecipients(author.keys.box.publicKey)
  }, crypto)
  const { seq } = await chain.appendSigned((seq) => signEntry(unsigned, { chainKey: chain.key, seq }, author.keys.sign.secretKey, crypto))
  return seq
}

export async function removeDir (dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true })
}

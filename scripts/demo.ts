/**
 * `npm run demo:local` — the single-process demo (one ledger on disk, no network or HTTP):
 * creates a consortium on disk, enrols a user, writes sealed exams and the
 * user's own exercise and GPS data, shows what each role can read, verifies
 * the chain, erases an entry, and shows forged and replayed entries refused.
 * Run it again and it reopens the same data directory and carries on.
 *
 *   npm run demo:local -- [--dir <path>] [--fresh]
 */
import { existsSync } from 'node:fs'
import { rm } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import {
  buildErasure, buildExam, buildGenesis, buildGrant, buildUserEntry, can, equal, generatePartyKeys, isCoreError,
  newRecoveryPhrase, openSealed, openWithDataKey, signEntry, unwrapDataKey, userKeysFromPhrase,
  type Entry, type InstitutionId, type InstitutionRole, type PartyKeys, type Role, type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import {
  Ledger, LedgerError, readPartyKeys, readRecoveryPhrase, writePartyKeys, writeRecoveryPhrase, type UserChain
} from '@healthchain/ledger'
import { LedgerConsortium } from '@healthchain/ledger/testing'
import { demoArgs } from './demo-args.js'

const args = demoArgs(() => parseArgs({
  options: {
    dir: { type: 'string', default: '.healthchain-demo' },
    fresh: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false }
  }
}), `Usage: npm run demo:local -- [--dir <path>] [--fresh]

Runs the healthchain foundation demo against a ledger on disk.
  --dir <path>  data directory (default .healthchain-demo); reopened if it exists
  --fresh       delete the data directory first`)

const dir = resolve(args.dir)
const keysDir = join(dir, 'keys')
const INSTITUTIONS: ReadonlyArray<{ id: InstitutionId, name: string, role: InstitutionRole }> = [
  { id: 'hospital-a' as InstitutionId, name: 'Hospital A', role: 'examiner' },
  { id: 'hospital-b' as InstitutionId, name: 'Hospital B', role: 'examiner' },
  { id: 'agency' as InstitutionId, name: 'Health Agency', role: 'inquirer' },
  { id: 'regulator' as InstitutionId, name: 'Regulator', role: 'regulator' }
]

let step = 0
function say (text: string): void { console.log(`\n${++step}. ${text}`) }
function detail (text: string): void { console.log(`   ${text}`) }

async function keysFor (name: string): Promise<PartyKeys> {
  const path = join(keysDir, `${name}.json`)
  if (existsSync(path)) return await readPartyKeys(path)
  const keys = generatePartyKeys(crypto)
  await writePartyKeys(path, keys)
  return keys
}

async function userFor (name: string): Promise<UserKeys> {
  const path = join(keysDir, `user-${name}.json`)
  if (!existsSync(path)) await writeRecoveryPhrase(path, newRecoveryPhrase())
  return userKeysFromPhrase(await readRecoveryPhrase(path), crypto)
}

async function expectRefusal (what: string, attempt: () => Promise<unknown>): Promise<void> {
  try {
    await attempt()
    throw new Error(`demo: ${what} was accepted, which must never happen`)
  } catch (err) {
    if (!(err instanceof LedgerError) && !isCoreError(err)) throw err
    detail(`${what}: refused with ${err.code}`)
  }
}

async function main (): Promise<void> {
  if (args.fresh) await rm(dir, { recursive: true, force: true })
  const reopened = existsSync(join(dir, 'ledger'))
  console.log(`healthchain demo — data directory ${dir}${reopened ? ' (reopened)' : ''}`)

  const governance = await keysFor('governance')
  const inst = Object.fromEntries(await Promise.all(INSTITUTIONS.map(async (i) => [i.id, { ...i, keys: await keysFor(i.id) }] as const)))
  const hospitalA = inst['hospital-a']!
  const hospitalB = inst['hospital-b']!

  // hospital-a's ledger hosts the registry (entries signed with the governance key held here, not by the ledger) and is the custodian.
  let ledger = await Ledger.open({ dir: join(dir, 'ledger'), institution: hospitalA.id, crypto })
  try {
    say('The consortium registry, signed by the governance key')
    if (!ledger.hasRegistry) {
      // The consortium harness creates the registry in this ledger's directory and admits all four (the demo keeps their keys in files).
      await ledger.close()
      const consortium = await LedgerConsortium.create({
        parties: Object.values(inst), name: 'Demo health consortium', governance, dir, ledgerDir: () => join(dir, 'ledger'), ledger: { crypto }
      })
      ledger = await consortium.ledger(hospitalA.id)
    }
    for (const r of ledger.registry.state.institutions()) detail(`${r.id.padEnd(11)} ${r.role.padEnd(9)} ${r.status}`)
    detail(`registry length ${ledger.registry.length}; keys are in ${keysDir} (owner-only)`)

    say('A user is enrolled at hospital-a, from keys derived from a recovery phrase')
    const alice = await userFor('alice')
    let chain: UserChain
    if (ledger.hasChain(alice.userId)) {
      chain = await ledger.chain(alice.userId)
      detail(`user ${alice.userId} already enrolled: chain of ${chain.length} entries`)
    } else {
      const chainKey = await ledger.chainKeyFor(alice.userId)
      const genesis = signEntry(buildGenesis(alice, hospitalA.id, {}, crypto), { chainKey, seq: 0 }, alice.sign.secretKey, crypto)
      chain = await ledger.enrol(genesis)
      detail(`user ${alice.userId} enrolled; the genesis is signed by the user, the chain by hospital-a`)
    }

    say('hospital-a writes an exam: a plain segment, and a sealed one for the user and itself')
    const examA = buildExam({
      author: hospitalA.id,
      reg: ledger.registry.length,
      chainKey: chain.key,
      plain: { title: 'Annual check-up', observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 120 }, { code: '29463-7', value: 71.5, unit: 'kg' }] },
      sealed: { observations: [{ code: '2345-7', value: 5.4, unit: 'mmol/L', low: 3.9, high: 5.5 }], notes: 'Fasting glucose at the upper end of normal.' },
      recipients: chain.examRecipients(hospitalA.keys.box.publicKey)
    }, crypto)
    const { seq: examSeq } = await chain.appendSigned(examA, hospitalA.keys.sign)
    detail(`exam appended at position ${examSeq}, sealed for ${(await chain.get(examSeq))!.sealed!.to.length} recipients`)

    say('The user\'s phone writes exercise and GPS data, signed on the device')
    const now = Date.now()
    const phoneWrites = [
      buildUserEntry('exercise', { start: now - 3_600_000, end: now, observations: [{ code: '55423-8', value: 6200, unit: '{steps}' }, { code: '8867-4', value: 96, unit: '/min' }] }, {}, crypto),
      buildUserEntry('location', { points: [{ lat: 52.5200, lon: 13.4050, acc: 8, time: now - 1_800_000 }, { lat: 52.5215, lon: 13.4101, acc: 6, time: now - 900_000 }] }, {}, crypto)
    ]
    for (const unsigned of phoneWrites) {
      const seq = chain.length
      await chain.append(signEntry(unsigned, { chainKey: chain.key, seq }, alice.sign.secretKey, crypto), seq)
      detail(`${unsigned.type} appended at position ${seq}`)
    }

    say('The user grants hospital-b, re-wrapping the history\'s data keys for it')
    const history = (await chain.read({ types: ['exam'] })).map(({ seq, entry }) => ({ seq, entry }))
    const grantSeq = chain.length
    const grant = signEntry(
      buildGrant({ examiner: hospitalB.id, examinerBox: hospitalB.keys.box.publicKey, history, chainKey: chain.key, userBox: alice.box }, crypto),
      { chainKey: chain.key, seq: grantSeq }, alice.sign.secretKey, crypto
    )
    await chain.append(grant, grantSeq)
    const rewrap = grant.type === 'consent' && grant.plain.action === 'grant' ? grant.plain.rewrap : undefined
    for (const key of rewrap?.keys ?? []) {
      const past = (await chain.get(key.seq))!
      const ctx = { chainKey: chain.key, entryId: past.id }
      const dataKey = unwrapDataKey(key.wrap, rewrap!.epk, hospitalB.keys.box, ctx, crypto)
      if (dataKey === null) throw new Error('demo: hospital-b could not unwrap a granted key')
      detail(`hospital-b opens past exam ${key.seq}: ${JSON.stringify(openWithDataKey(past.sealed!, dataKey, ctx, crypto).observations?.[0])}`)
    }

    say('Each role reads what its permissions allow: plain segments, and sealed ones as a recipient — directly, or (hospital-b) through the keys the grant re-wrapped')
    const entries = await chain.read()
    const readers: Array<{ name: string, role: Role, box?: PartyKeys['box'] }> = [
      { name: 'the user', role: 'user', box: alice.box },
      { name: 'hospital-a', role: 'examiner', box: hospitalA.keys.box },
      { name: 'hospital-b', role: 'examiner', box: hospitalB.keys.box },
      { name: 'agency', role: 'inquirer' },
      { name: 'regulator', role: 'regulator' }
    ]
    for (const reader of readers) {
      let opened = 0
      let sealed = 0
      for (const { seq, entry } of entries) {
        if (entry.sealed === undefined) continue
        sealed++
        if (!can(reader.role, 'read', 'sealed') || reader.box === undefined) continue
        if (openAsReader(entries, seq, entry, reader.box, chain.key)) opened++
      }
      detail(`${reader.name.padEnd(10)} (${reader.role}): plain segments ${can(reader.role, 'read', 'plain') ? entries.length : 0}/${entries.length}, sealed opened ${opened}/${sealed}`)
    }

    say('Forged and replayed entries are refused, and nothing is appended')
    const before = chain.length
    const forged = signEntry(buildUserEntry('exercise', { start: now, end: now, observations: [{ code: '55423-8', value: 1, unit: '{steps}' }] }, {}, crypto), { chainKey: chain.key, seq: before }, hospitalB.keys.sign.secretKey, crypto)
    await expectRefusal('an exercise entry signed by someone other than the user', () => chain.append(forged, before))
    const replayed = (await chain.get(examSeq))! as Entry
    await expectRefusal('the hospital-a exam replayed at the next position', () => chain.append({ ...replayed, id: crypto.randomBytes(16) } as Entry, before))
    const agency = inst.agency!
    const byAgency = buildExam({ author: agency.id, reg: ledger.registry.length, chainKey: chain.key, plain: { observations: [] }, sealed: { notes: 'x' }, recipients: [alice.box.publicKey] }, crypto)
    await expectRefusal('an exam written by the agency (an inquirer)', () => chain.append(signEntry(byAgency, { chainKey: chain.key, seq: before }, agency.keys.sign.secretKey, crypto), before))
    detail(`chain length still ${chain.length}`)

    say('The user asks for the GPS entry to be erased')
    const location = (await chain.read({ types: ['location'] })).at(-1)
    if (location !== undefined) {
      const seq = chain.length
      await chain.append(signEntry(buildErasure([location.seq], {}, crypto), { chainKey: chain.key, seq }, alice.sign.secretKey, crypto), seq)
      detail(`position ${location.seq} erased: its data is gone, its hash stays in the tree`)
    }

    say('Whole-chain verification: Hypercore tree and signed head, every author signature, roles, consent')
    const report = await ledger.verify(alice.userId)
    detail(`valid: ${report.valid}; ${report.length} positions: ${report.verified} entries verified, ${report.erased.length} erased (${report.erased.join(', ') || 'none'}: the data is gone, the hash stays in the tree), tree ${report.tree.ok ? 'ok' : report.tree.problem}`)
    if (!report.valid) throw new Error(`demo: the chain does not verify: ${report.problems.map((p) => p.code).join(', ')}`)
  } finally {
    await ledger.close()
  }

  const again = await Ledger.open({ dir: join(dir, 'ledger'), institution: hospitalA.id, crypto })
  try {
    const alice = await userFor('alice')
    say(`Reopened from disk: the chain has ${(await again.chain(alice.userId)).length} positions. Run \`npm run demo:local\` again to add more, or \`npm run demo:local -- --fresh\` to start over.`)
  } finally {
    await again.close()
  }
}

main().catch((err) => {
  console.error(`\ndemo failed: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})

/**
 * Whether `box` opens the sealed part of the entry at `seq`: as a recipient,
 * or with a data key a later grant re-wrapped for it.
 */
function openAsReader (entries: ReadonlyArray<{ seq: number, entry: Entry }>, seq: number, entry: Entry, box: PartyKeys['box'], chainKey: Uint8Array): boolean {
  const ctx = { chainKey, entryId: entry.id }
  try {
    openSealed(entry.sealed!, box, ctx, crypto)
    return true
  } catch (err) {
    if (!isCoreError(err, 'NOT_RECIPIENT')) throw err
  }
  for (const { entry: later } of entries) {
    if (later.type !== 'consent' || later.plain.action !== 'grant' || later.plain.rewrap === undefined) continue
    const { rewrap } = later.plain
    if (!equal(rewrap.to, box.publicKey)) continue
    const key = rewrap.keys.find((k) => k.seq === seq)
    const dataKey = key === undefined ? null : unwrapDataKey(key.wrap, rewrap.epk, box, ctx, crypto)
    if (dataKey !== null) {
      openWithDataKey(entry.sealed!, dataKey, ctx, crypto)
      return true
    }
  }
  return false
}

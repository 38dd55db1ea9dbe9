/**
 * What one erasure costs on a store holding many chains, at the custodian:
 * the time from appending the user's erasure entry to its acknowledgement
 * (the erased blocks cleared and, since scrub.ts, compacted out of the
 * store's log and table files), and to the end of the whole-store sweep that
 * takes a blob-sized block out of the blob files (in the background, after
 * the acknowledgement) — beside a plain append of a user entry on the same
 * store.
 *
 * The store: `fillers` cores written raw (the bulk: each 20 blocks of
 * 1.3 KB, a sealed exam's size, and one 12 KB block, a location batch's —
 * RocksDB keeps that one in a blob file), and a few real chains, restarted
 * so that everything is in table and blob files. Two kinds of erasure:
 *   - small entries (exams): a flush and a compaction of their key range;
 *   - a location batch (a blob): a compaction of the whole store.
 * Each run also checks, on this large store, that the erased exams' titles
 * are in no file afterwards.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  buildErasure, buildExam, buildGenesis, buildUserEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase,
  type UserKeys
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, type UserChain } from '@healthchain/ledger'
import { LedgerConsortium, makeInstitution } from '@healthchain/ledger/testing'
import { findOnDisk, markerText, textMarker } from '../../test/helpers/disk-scan.js'
import { benchExamSealed } from './fixtures.js'
import { median, type Figure } from './measure.js'
import { storeOf } from '@healthchain/ledger/testing'

const SECTION = 'erasure'

export interface ErasureBenchOptions {
  /** Raw cores making up the bulk of the store. */
  readonly fillers: number
  /** Real chains, one erasure each (half of small entries, half of a location batch). */
  readonly chains: number
}

async function dirBytes (dir: string): Promise<{ bytes: number, files: Map<string, number> }> {
  let bytes = 0
  const files = new Map<string, number>()
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue
    bytes += (await stat(join(entry.parentPath, entry.name))).size
    const ext = entry.name.includes('.') ? entry.name.slice(entry.name.lastIndexOf('.')) : entry.name
    files.set(ext, (files.get(ext) ?? 0) + 1)
  }
  return { bytes, files }
}

async function timed (fn: () => Promise<unknown>): Promise<number> {
  const start = process.hrtime.bigint()
  await fn()
  return Number(process.hrtime.bigint() - start) / 1e6
}

export async function benchErasure (opts: ErasureBenchOptions): Promise<Figure[]> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-erasure-bench-'))
  const store = join(dir, 'ledger')
  const figures: Figure[] = []
  try {
    const hospital = makeInstitution('hospital-a', 'examiner')
    // The consortium harness admits it into a fresh registry in its ledger (which this bench closes and reopens itself).
    const consortium = await LedgerConsortium.create({
      parties: [hospital], name: 'Bench consortium', dir, ledgerDir: () => store, ledger: { crypto, verifyWorkers: 0 }
    })
    let ledger = await consortium.ledger(hospital.id)
    const registry = ledger.registry

    // The bulk: raw cores of realistic block sizes, written side by side like many chains.
    for (let i = 0; i < opts.fillers; i += 100) {
      await Promise.all(Array.from({ length: Math.min(100, opts.fillers - i) }, async (_, j) => {
        const core = storeOf(ledger).get({ name: `filler/${i + j}`, active: false })
        await core.ready()
        await core.append([...Array.from({ length: 20 }, () => crypto.randomBytes(1300)), crypto.randomBytes(12_000)])
        await core.close()
      }))
    }

    const users: Array<{ user: UserKeys, titles: string[] }> = []
    for (let i = 0; i < opts.chains; i++) {
      const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
      const chainKey = await ledger.chainKeyFor(user.userId)
      const chain = await ledger.enrol(signEntry(buildGenesis(user, hospital.id, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
      const titles = Array.from({ length: 10 }, () => markerText('BENCH'))
      await Promise.all(titles.map(async (title) => await chain.appendSigned(buildExam({
        author: hospital.id, reg: registry.length, chainKey, plain: { title, observations: [{ code: '8480-6', value: 120, unit: 'mm[Hg]' }] }, sealed: benchExamSealed, recipients: [user.box.publicKey, hospital.keys.box.publicKey]
      }, crypto), hospital.keys.sign)))
      const points = Array.from({ length: 250 }, (_, k) => ({
        lat: 52 + Math.random(), lon: 13 + Math.random(), acc: 5, time: Date.UTC(2026, 0, 1) + k * 1000
      }))
      await appendUser(chain, user, buildUserEntry('location', { points }, {}, crypto))
      users.push({ user, titles })
    }
    // A restart: everything is in table and blob files.
    await ledger.close()
    ledger = await Ledger.open({ dir: store, institution: hospital.id, crypto, verifyWorkers: 0 })
    const size = await dirBytes(store)
    figures.push({ section: SECTION, name: `store: ${opts.fillers + opts.chains} chains, ${[...size.files].filter(([ext]) => ['.sst', '.blob'].includes(ext)).map(([ext, n]) => `${n} ${ext}`).join(', ')}`, value: size.bytes / 2 ** 20, unit: 'MiB' })

    const appends: number[] = []
    const small: number[] = []
    const large: number[] = []
    const swept: number[] = []
    const half = Math.floor(users.length / 2)
    for (const [i, { user }] of users.entries()) {
      const chain = await ledger.chain(user.userId)
      appends.push(await timed(async () => await appendUser(chain, user, buildUserEntry('exercise', { start: Date.now() - 1000, end: Date.now(), observations: [{ code: '55423-8', value: 100 }] }, {}, crypto))))
      // Positions 1 and 2 are exams; 11 is the location batch.
      if (i < half) small.push(await timed(async () => await appendUser(chain, user, buildErasure([1, 2], {}, crypto))))
      else {
        const start = process.hrtime.bigint()
        await appendUser(chain, user, buildErasure([11], {}, crypto))
        large.push(Number(process.hrtime.bigint() - start) / 1e6)
        await ledger.scrubsSettled()
        swept.push(Number(process.hrtime.bigint() - start) / 1e6)
      }
    }
    figures.push({ section: SECTION, name: 'append of a user entry (reference), median', value: median(appends), unit: 'ms' })
    figures.push({ section: SECTION, name: 'erasure of two exams (< 4 KiB: range compaction), median', value: median(small), unit: 'ms', ratio: { against: 'append', value: median(small) / median(appends) } })
    figures.push({ section: SECTION, name: 'erasure of a location batch (blob), acknowledged after, median', value: median(large), unit: 'ms', ratio: { against: 'append', value: median(large) / median(appends) } })
    figures.push({ section: SECTION, name: 'erasure of a location batch, until its whole-store sweep ends, median', value: median(swept), unit: 'ms', ratio: { against: 'append', value: median(swept) / median(appends) } })

    await ledger.close()
    const erasedTitles = users.slice(0, half).flatMap((u) => u.titles.slice(0, 2)).map(textMarker)
    const keptTitles = users.slice(0, half).flatMap((u) => u.titles.slice(2)).map(textMarker)
    const left = await findOnDisk(store, erasedTitles)
    const kept = new Set((await findOnDisk(store, keptTitles)).map((h) => h.marker))
    figures.push({ section: SECTION, name: 'erased exam titles found in the store\'s files afterwards (must be 0)', value: left.length, unit: 'titles' })
    figures.push({ section: SECTION, name: 'kept exam titles found (the scan\'s control)', value: kept.size, unit: `of ${keptTitles.length}` })
    return figures
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

async function appendUser (chain: UserChain, user: UserKeys, unsigned: ReturnType<typeof buildUserEntry>): Promise<number> {
  const seq = chain.length
  return (await chain.append(signEntry(unsigned, { chainKey: chain.key, seq }, user.sign.secretKey, crypto), seq)).seq
}

/**
 * A realistic, deterministic data set written into a real Ledger (Corestore
 * on disk), and the ground truth of what was written — for the query-index
 * tests and benchmarks. It lives in node's testing entry point
 * (`@healthchain/node/testing`) because the query index (node's) is what it
 * exists for; the benchmark and the command line (scripts/generate-dataset.ts)
 * import it from there.
 *
 * What it writes (every random choice comes from a seeded PRNG, one stream
 * per purpose and per user, so the same options give the same data; only
 * sealing nonces and signatures' randomness-free bytes differ between runs):
 *
 * - A registry with two examiners (`hospital-a`, the custodian of every
 *   chain, and `clinic-b`) and an inquirer (`agency`); N users enrolled.
 * - Exams (a few per year per user, by either examiner): blood pressure,
 *   heart rate, glucose, total cholesterol, BMI and body weight around each
 *   person's own baseline — so some people are often out of range — now and
 *   then with the lab's own reference range, a text finding, or a weight in
 *   pounds. Each exam's SEALED segment carries a note with `sealedMarker`
 *   and a sealed-only observation (2345-7): the index must never hold either.
 * - Exercise on most days: steps, distance, active energy, heart rate.
 * - Location: a point every 15 minutes from 07:00 to 23:00 (UTC), moving
 *   between home, work, lunch and favourite places in a city, with GPS noise;
 *   one location entry per day.
 * - PLANTED contacts: pairs of users placed within 0.8 R metres and 0.8 T
 *   minutes of each other at known times; PLANTED near-misses: just outside
 *   R (1.15–1.5 R, within T/2) or just outside T (1.15–1.5 T, within R/2).
 *
 * So that the planted contacts are exactly the contacts, everyone's usual
 * places are kept at least 110 m apart, and any remaining background point
 * within 2R and 2T of another user's point is dropped (a few per day at
 * most): contact tracing with R and T must find exactly the planted
 * contacts and none of the near-misses.
 */
import { mkdir, readdir } from 'node:fs/promises'
import {
  buildExam, buildGenesis, buildUserEntry, signEntry,
  type ExamSealed, type InstitutionId, type LocationPlain, type UserId
} from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, type UserChain } from '@healthchain/ledger'
import { type Dataset, type DatasetOptions, type DatasetUser, DAY, HOUR, keysFrom, MINUTE, type PlantedPair, type RawEntry, Rng } from './model.js'
import { distanceMetres, Separated, toLatLon } from './geography.js'
import { examPlain, exercisePlain, profileOf, round } from './people.js'
import { keepApart, planPlants, type Plant, plantInto, trackOf, type TrackPoint } from './tracks.js'

export async function generateDataset (opts: DatasetOptions): Promise<Dataset> {
  const users = opts.users ?? 1000
  const days = opts.days ?? 365
  const start = opts.start ?? Date.UTC(2025, 0, 1)
  const seed = opts.seed ?? 'healthchain'
  const R = opts.radiusMetres ?? 25
  const T = opts.windowMinutes ?? 15
  const contactCount = opts.contacts ?? Math.max(4, Math.floor(users / 10))
  const nearMissCount = opts.nearMisses ?? contactCount
  const keepEntries = opts.keepEntries ?? true
  if (!Number.isInteger(users) || users < 2) throw new Error('users: at least 2')
  if (!Number.isInteger(days) || days < 1) throw new Error('days: at least 1')
  if (start % DAY !== 0) throw new Error('start: midnight UTC')

  await mkdir(opts.dir, { recursive: true })
  if ((await readdir(opts.dir)).length > 0) throw new Error(`${opts.dir} is not empty: the data set is written into a new ledger`)

  const rng = new Rng(seed, 'consortium')
  const governance = keysFrom(rng)
  const institutions = {
    hospital: { id: 'hospital-a' as InstitutionId, keys: keysFrom(rng) },
    clinic: { id: 'clinic-b' as InstitutionId, keys: keysFrom(rng) },
    agency: { id: 'agency' as InstitutionId, keys: keysFrom(rng) }
  }
  const sealedMarker = `hc-sealed-marker-${Buffer.from(rng.bytes(8)).toString('hex')}`
  const sealedCode = '2345-7'

  const ledger = await Ledger.open({ dir: opts.dir, institution: institutions.hospital.id, crypto })
  try {
    const registry = await ledger.createRegistry(governance.sign, 'Generated consortium')
    for (const [inst, role] of [[institutions.hospital, 'examiner'], [institutions.clinic, 'examiner'], [institutions.agency, 'inquirer']] as const) {
      await registry.append('admit', { institution: inst.id, name: inst.id, role, sign: inst.keys.sign.publicKey, box: inst.keys.box.publicKey }, governance.sign)
    }

    const places = new Separated(110)
    const profiles = Array.from({ length: users }, (_, i) => profileOf(seed, i, places, days, start, opts.examsPerYear ?? 4))
    const chains: UserChain[] = []
    const datasetUsers: DatasetUser[] = []
    for (const p of profiles) {
      const chainKey = await ledger.chainKeyFor(p.keys.userId)
      const genesis = signEntry(buildGenesis(p.keys, institutions.hospital.id, { id: new Rng(seed, 'genesis', p.index).bytes(16), time: start - DAY }, crypto), { chainKey, seq: 0 }, p.keys.sign.secretKey, crypto)
      chains.push(await ledger.enrol(genesis))
      datasetUsers.push({ userId: p.keys.userId, keys: p.keys, chainKey })
    }

    const third = Math.floor(nearMissCount / 2)
    const plants = planPlants(seed, users, days, start, { contact: contactCount, distance: nearMissCount - third, time: third }, R, T)
    const entries = new Map<UserId, RawEntry[]>(profiles.map((p) => [p.keys.userId, []]))
    const nextSeq = profiles.map(() => 1)
    const totals = { entries: users, exams: 0, exercise: 0, locationEntries: 0, locationPoints: 0, droppedPoints: 0 }
    const plantedSeqs = new Map<TrackPoint, number>()

    for (let d = 0; d < days; d++) {
      const dayStart = start + d * DAY
      const tracks = profiles.map((p) => trackOf(p, seed, d, dayStart))
      for (const plant of plants.filter((q) => q.day === d)) {
        plantInto(tracks[plant.a]!, plant.aPoint)
        plantInto(tracks[plant.b]!, plant.bPoint)
      }
      totals.droppedPoints += keepApart(tracks.flat(), 2 * R, 2 * T * MINUTE)

      const writes: Array<Promise<unknown>> = []
      for (const p of profiles) {
        const chain = chains[p.index]!
        const userId = p.keys.userId
        const rngDay = new Rng(seed, 'day', p.index, d)
        const pending: Array<{ time: number, write: (seq: number) => Promise<unknown>, raw: (seq: number) => RawEntry }> = []
        for (const time of p.exams.get(d) ?? []) {
          const author = rngDay.chance(0.7) ? institutions.hospital : institutions.clinic
          const plain = examPlain(p, rngDay)
          const sealed: ExamSealed = {
            observations: [{ code: sealedCode, value: round(rngDay.normal(5.2, 0.6), 2), unit: 'mmol/L' }],
            notes: `${sealedMarker} — confidential clinical note for exam at ${new Date(time).toISOString()}`
          }
          const id = rngDay.bytes(16)
          pending.push({
            time,
            write: async () => await chain.appendSigned(buildExam({
              author: author.id,
              reg: registry.length,
              chainKey: chain.key,
              plain,
              sealed,
              recipients: chain.examRecipients(author.keys.box.publicKey, time),
              time,
              id
            }, crypto), author.keys.sign),
            raw: (seq) => ({ seq, type: 'exam', time, author: author.id, plain, sealed })
          })
          totals.exams++
        }
        if (rngDay.chance(0.85)) {
          const plain = exercisePlain(p, rngDay, dayStart)
          const id = rngDay.bytes(16)
          pending.push({
            time: plain.end,
            write: async (seq) => await chain.append(signEntry(buildUserEntry('exercise', plain, { id, time: plain.end }, crypto), { chainKey: chain.key, seq }, p.keys.sign.secretKey, crypto), seq),
            raw: (seq) => ({ seq, type: 'exercise', time: plain.end, author: 'user', plain })
          })
          totals.exercise++
        }
        const kept = tracks[p.index]!.filter((t) => !t.removed)
        if (kept.length > 0) {
          const plain: LocationPlain = { points: kept.map((t) => ({ ...toLatLon(t.xy), acc: t.acc, time: t.time })) }
          const time = dayStart + 23 * HOUR + 5 * MINUTE
          const id = rngDay.bytes(16)
          pending.push({
            time,
            write: async (seq) => {
              const result = await chain.append(signEntry(buildUserEntry('location', plain, { id, time }, crypto), { chainKey: chain.key, seq }, p.keys.sign.secretKey, crypto), seq)
              for (const t of kept) if (t.planted) plantedSeqs.set(t, result.seq)
              return result
            },
            raw: (seq) => ({ seq, type: 'location', time, author: 'user', plain })
          })
          totals.locationEntries++
          totals.locationPoints += kept.length
        }
        // Entries take positions in time order; all are queued at once (one chain's queue keeps them in order).
        pending.sort((x, y) => x.time - y.time)
        for (const item of pending) {
          const seq = nextSeq[p.index]!++
          writes.push(item.write(seq).then((result) => {
            if ((result as { seq: number }).seq !== seq) throw new Error(`an entry took position ${(result as { seq: number }).seq}, expected ${seq}`)
          }))
          if (keepEntries) entries.get(userId)!.push(item.raw(seq))
          totals.entries++
        }
      }
      await Promise.all(writes)
      opts.onProgress?.(d + 1, days)
    }

    const pairOf = (plant: Plant): PlantedPair => {
      const a = toLatLon(plant.aPoint.xy)
      const b = toLatLon(plant.bPoint.xy)
      return {
        a: profiles[plant.a]!.keys.userId,
        b: profiles[plant.b]!.keys.userId,
        aPoint: { time: plant.aPoint.time, ...a, acc: plant.aPoint.acc },
        bPoint: { time: plant.bPoint.time, ...b, acc: plant.bPoint.acc },
        aSeq: plantedSeqs.get(plant.aPoint)!,
        bSeq: plantedSeqs.get(plant.bPoint)!,
        distanceMetres: distanceMetres(a, b),
        minutesApart: Math.abs(plant.bPoint.time - plant.aPoint.time) / MINUTE
      }
    }
    return {
      ledger,
      governance,
      institutions,
      users: datasetUsers,
      start,
      days,
      radiusMetres: R,
      windowMinutes: T,
      contacts: plants.filter((q) => q.kind === 'contact').map(pairOf),
      nearMisses: plants.filter((q) => q.kind !== 'contact').map((q) => ({ ...pairOf(q), kind: q.kind as 'distance' | 'time' })),
      sealedMarker,
      sealedCode,
      entries,
      totals
    }
  } catch (err) {
    await ledger.close().catch(() => {})
    throw err
  }
}

/**
 * `npm run demo:data`: fills the running dev network with sample patients,
 * so that every party has something to look at in the web console:
 *
 * - patients enrolled at hospital-a and hospital-b (each recovery phrase
 *   kept in `<dir>/users/<user id>.json`, owner-only, to sign in with);
 * - a yearly check-up for six years, alternating between the two
 *   hospitals: blood pressure and weight in the plain segment, glucose in
 *   the sealed one, some values out of range; cholesterol for only a few
 *   patients (a statistics cell small enough to be suppressed);
 * - two weeks of steps and a day's walk for each patient, signed on the
 *   patient's side, two of the walks meeting (for contact tracing);
 * - every third patient grants the other hospital, with the history's keys.
 *
 * Everything goes through the nodes' HTTP API, as the console and the CLI
 * do. The numbers come from a seeded generator: the same --seed gives the
 * same values (the keys are new on every run).
 */
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { EXERCISE_MEASURES, buildUserEntry, newRecoveryPhrase, userKeysFromPhrase, type InstitutionId, type Observation, type UserKeys } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { writeRecoveryPhrase } from '@healthchain/ledger'
import { writeReplySchema } from '@healthchain/node/api'
import {
  ApiClient, CliError, DEFAULT_DEV_DIR, devPaths, enrolUser, examinerBoxOf, grantExaminer, loginAsUser, loginWithApiKey, readDevManifest, writeAsUser
} from '@healthchain/node/cli'
import { demoArgs } from './demo-args.js'

const args = demoArgs(() => parseArgs({
  options: {
    dir: { type: 'string', default: DEFAULT_DEV_DIR },
    patients: { type: 'string', default: '16' },
    seed: { type: 'string', default: '1' },
    help: { type: 'boolean', short: 'h', default: false }
  }
}), `Usage: npm run demo:data -- [--dir <path>] [--patients N] [--seed N]

Fills the dev network that \`npm start\` runs (start it first) with sample
patients: six years of check-ups at hospital-a and hospital-b, two weeks of
steps, a walk each (two of them meeting), and some grants. Each patient's
recovery phrase is kept in <dir>/users/<user id>.json, to sign in to the
web console with ("I am a patient", then the phrase file).
  --dir <path>   the dev network's directory (default ${DEFAULT_DEV_DIR})
  --patients N   how many patients (default 16, at most 200)
  --seed N       the values' seed (default 1)`)

const dir = resolve(args.dir)
const patients = Number(args.patients)
if (!Number.isInteger(patients) || patients < 2 || patients > 200) {
  console.error('error USAGE: --patients: expected a whole number from 2 to 200')
  process.exit(2)
}

/** A small seeded generator (mulberry32): the same seed, the same values. */
function seeded (seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}
const random = seeded(Number(args.seed))
const between = (low: number, high: number, digits = 0): number => Number((low + random() * (high - low)).toFixed(digits))

const DAY = 86_400_000
const YEARS = 6
/** Where the walks are: around the centre of Berlin. */
const CENTRE = { lat: 52.5200, lon: 13.4050 }

interface Staff { readonly name: InstitutionId, readonly api: ApiClient, readonly staff: ApiClient }

function checkUp (year: number, age: number, baseline: { systolic: number, weight: number, glucose: number }, withCholesterol: boolean): {
  plain: { title: string, observations: Observation[] }
  sealed: { observations: Observation[], notes: string }
} {
  const time = Date.UTC(year, 2 + Math.floor(random() * 8), 1 + Math.floor(random() * 27), 9)
  // Values drift with the years, as they do: blood pressure and glucose up a little, weight wandering.
  const systolic = Math.round(baseline.systolic + age * between(0.5, 2.5) + between(-6, 6))
  const observations: Observation[] = [
    { code: '8480-6', value: systolic, unit: 'mm[Hg]', low: 90, high: 120, time },
    { code: '8462-4', value: Math.round(systolic * 0.63 + between(-4, 4)), unit: 'mm[Hg]', low: 60, high: 80, time },
    { code: '29463-7', value: between(baseline.weight - 2, baseline.weight + 2, 1), unit: 'kg', time }
  ]
  if (withCholesterol) observations.push({ code: '2093-3', value: Math.round(between(160, 240)), unit: 'mg/dL', high: 200, time })
  const glucose = Math.round(baseline.glucose + age * between(0, 2) + between(-5, 5))
  return {
    plain: { title: 'Annual check-up', observations },
    sealed: {
      observations: [{ code: '2339-0', value: glucose, unit: 'mg/dL', low: 70, high: 99, time }],
      notes: glucose > 99 ? 'Fasting glucose above the reference range: repeat in three months.' : 'Fasting glucose within range.'
    }
  }
}

/** A walk of an hour, one point every five minutes, from a start point; `meet` forces a point. */
interface WalkPoint { lat: number, lon: number, acc: number, time: number }

function walk (start: { lat: number, lon: number }, begin: number, meet?: { lat: number, lon: number, time: number }): WalkPoint[] {
  const points: WalkPoint[] = []
  let { lat, lon } = start
  const heading = random() * 2 * Math.PI
  for (let i = 0; i <= 12; i++) {
    const time = begin + i * 5 * 60_000
    if (meet !== undefined && Math.abs(time - meet.time) < 2.5 * 60_000) {
      ({ lat, lon } = meet)
    } else {
      lat += Math.cos(heading + between(-0.6, 0.6, 3)) * 0.0035
      lon += Math.sin(heading + between(-0.6, 0.6, 3)) * 0.0055
    }
    points.push({ lat: Number(lat.toFixed(6)), lon: Number(lon.toFixed(6)), acc: 8, time })
  }
  return points
}

/** Until `hospital` holds the user's chain (it replicates from the custodian within a second or so). */
async function heldBy (hospital: Staff, user: UserKeys): Promise<void> {
  const deadline = Date.now() + 30_000
  for (;;) {
    try {
      await hospital.staff.chain(user.userId)
      return
    } catch (err) {
      if (Date.now() > deadline) throw err
      await new Promise((resolve) => setTimeout(resolve, 200))
    }
  }
}

async function main (): Promise<void> {
  const manifest = await readDevManifest(dir)
  if (manifest === undefined) throw new CliError('UNREACHABLE', `no dev network is running in ${dir} (there is no dev.json): start it with npm start`)
  const hospitals: Staff[] = []
  for (const node of manifest.nodes.filter((n) => n.role === 'examiner')) {
    const api = new ApiClient(node.api, { timeoutMs: 15_000 })
    const { client } = await loginWithApiKey(api, node.apiKey)
    hospitals.push({ name: node.name as InstitutionId, api, staff: client })
  }
  if (hospitals.length < 2) throw new CliError('USAGE', 'the dev network has fewer than two examiners')
  const registry = await hospitals[0]!.staff.registry()
  const usersDir = devPaths(dir).users
  await mkdir(usersDir, { recursive: true, mode: 0o700 })
  const thisYear = new Date().getUTCFullYear()
  const now = Date.now()
  const meetingDay = Date.UTC(new Date(now - DAY).getUTCFullYear(), new Date(now - DAY).getUTCMonth(), new Date(now - DAY).getUTCDate(), 17)
  const meeting = { lat: CENTRE.lat + 0.004, lon: CENTRE.lon + 0.006, time: meetingDay + 30 * 60_000 }
  const made: Array<{ user: UserKeys, custodian: InstitutionId, file: string }> = []

  // Everyone is enrolled first, so that the other hospital holds every chain (replication) before it writes to one.
  for (let i = 0; i < patients; i++) {
    const home = hospitals[i % 2]!
    const phrase = newRecoveryPhrase()
    const user = userKeysFromPhrase(phrase, crypto)
    const file = join(usersDir, `${user.userId}.json`)
    await writeRecoveryPhrase(file, phrase)
    await enrolUser(home.staff, user, crypto, home.name)
    made.push({ user, custodian: home.name, file })
    process.stderr.write(`\renrolled: ${i + 1}/${patients}`)
  }
  process.stderr.write('\n')
  for (const [i, { user }] of made.entries()) await heldBy(hospitals[(i + 1) % 2]!, user)

  for (const [i, { user }] of made.entries()) {
    const home = hospitals[i % 2]!
    const other = hospitals[(i + 1) % 2]!
    const baseline = { systolic: between(104, 122), weight: between(55, 95, 1), glucose: between(78, 95) }
    for (let y = 0; y < YEARS; y++) {
      const at = y % 2 === 0 ? home : other
      const exam = checkUp(thisYear - YEARS + 1 + y, y, baseline, i < 3 && y === 0)
      await at.staff.request('POST', `/v1/users/${user.userId}/entries`, writeReplySchema, { body: { type: 'exam', ...exam } })
    }
    const { client: phone } = await loginAsUser(home.api, home.name, user, crypto)
    for (let d = 13; d >= 0; d--) {
      const day = Date.UTC(new Date(now - d * DAY).getUTCFullYear(), new Date(now - d * DAY).getUTCMonth(), new Date(now - d * DAY).getUTCDate())
      const steps = Math.round(between(3_000, 13_000))
      await writeAsUser(phone, user, buildUserEntry('exercise', {
        start: day + 7 * 3_600_000,
        end: day + 21 * 3_600_000,
        observations: [
          { code: EXERCISE_MEASURES.steps.loinc, value: steps, unit: EXERCISE_MEASURES.steps.unit },
          { code: EXERCISE_MEASURES.distance.loinc, value: Math.round(steps * 0.75), unit: EXERCISE_MEASURES.distance.unit }
        ]
      }, {}, crypto), crypto)
    }
    const start = { lat: CENTRE.lat + between(-0.02, 0.02, 5), lon: CENTRE.lon + between(-0.03, 0.03, 5) }
    const points = walk(start, meetingDay, i < 2 ? meeting : undefined)
    await writeAsUser(phone, user, buildUserEntry('location', { points }, {}, crypto), crypto)
    if (i % 3 === 2) await grantExaminer(phone, user, other.name, examinerBoxOf(registry.institutions, other.name), crypto)
    process.stderr.write(`\rhistories written: ${i + 1}/${patients}`)
  }
  process.stderr.write('\n')
  console.log(`${patients} sample patients written to the dev network in ${dir}`)
  console.log('Sign in to a node\'s web console as a patient ("I am a patient", then the phrase file):')
  for (const { user, custodian, file } of made.slice(0, 3)) console.log(`  ${user.userId}  custodian ${custodian}  ${file}`)
  console.log(`  … and ${made.length - 3} more in ${usersDir}`)
  console.log(`Contact tracing: ${made[0]!.user.userId} and ${made[1]!.user.userId} walked to the same place yesterday around 17:30 UTC.`)
}

main().catch((err: unknown) => {
  const code = err instanceof CliError ? err.code : (err as { code?: string }).code ?? 'INTERNAL'
  console.error(`error ${String(code)}: ${err instanceof Error ? err.message : String(err)}`)
  process.exit(1)
})

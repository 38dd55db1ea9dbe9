/**
 * The query index stays consistent with the chains: a failed batch (a throw
 * inside its transaction, or the process killed there) leaves neither rows
 * nor cursor behind; erasures remove rows for good; a replica is indexed
 * only as far as it has verified; a schema change or a replaced chain
 * starts over; the follower keeps up as chains grow. Real Corestore, real
 * SQLite, a small generated data set.
 */
import { spawn } from 'node:child_process'
import { mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildErasure, buildUserEntry, signEntry, type UserId } from '@healthchain/core'
import { Ledger, type UserChain } from '@healthchain/ledger'
import { generateDataset, type Dataset, type DatasetUser } from '../src/testing/index.js'
import { cellOf, QueryIndex } from '../src/query-index/index.js'
import { rebuildUnderWay } from '../src/query-index/schema.js'
import { crypto, makeTempDir, removeDir } from './helpers/fixtures.js'

const DAY = 86_400_000

async function waitUntil (condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

/** A chain seen through a lens: the same blocks, another verified length or key (a replica mid-ingest, a replaced chain). */
function lens (chain: UserChain, over: { verifiedLength?: number, key?: Uint8Array }): UserChain {
  return new Proxy(chain, {
    get (target, prop) {
      if (prop === 'verifiedLength' && over.verifiedLength !== undefined) return over.verifiedLength
      if (prop === 'key' && over.key !== undefined) return over.key
      const value = Reflect.get(target, prop, target)
      return typeof value === 'function' ? value.bind(target) : value
    }
  })
}

describe('query index consistency', () => {
  let dir: string
  let storeDir: string
  let data: Dataset
  let ledger: Ledger
  let users: DatasetUser[]

  beforeAll(async () => {
    dir = await makeTempDir('healthchain-query-index-consistency-')
    storeDir = join(dir, 'store')
    data = await generateDataset({ dir: storeDir, users: 8, days: 6, seed: 'consistency', contacts: 2, nearMisses: 2 })
    ledger = data.ledger
    users = data.users
    await mkdir(join(dir, 'index'))
  }, 60_000)

  afterAll(async () => {
    await ledger?.close()
    if (dir !== undefined) await removeDir(dir)
  })

  /** Appends a steps entry the user signed, `afterDataMs` after the data set's days; its position, once written. */
  async function appendSteps (owner: DatasetUser, value: number, afterDataMs: number): Promise<number> {
    const chain = await ledger.chain(owner.userId)
    const seq = chain.length
    const start = data.start + data.days * DAY + afterDataMs
    const plain = { start, end: start + 600_000, observations: [{ code: '55423-8', value, unit: '{steps}' }] }
    await chain.append(signEntry(buildUserEntry('exercise', plain, { time: plain.end }, crypto), { chainKey: chain.key, seq }, owner.keys.sign.secretKey, crypto), seq)
    await chain.settled()
    return seq
  }

  let fileCount = 0
  const freshPath = (): string => join(dir, 'index', `index-${++fileCount}.sqlite`)

  /** What the index holds for a user, straight from its tables. */
  function rowsOf (index: QueryIndex, user: UserId): { observations: number, locations: number, inCell: number, maxSeq: number } {
    const db = index.database
    const uid = db.prepare('SELECT uid FROM chains WHERE user_id = ?').pluck().get(user) as number | undefined
    if (uid === undefined) return { observations: 0, locations: 0, inCell: 0, maxSeq: -1 }
    const one = (sql: string): number => (db.prepare(sql).pluck().get(uid) as number | null) ?? -1
    return {
      observations: one('SELECT count(*) FROM observations WHERE uid = ?'),
      locations: one('SELECT count(*) FROM locations WHERE uid = ?'),
      // Points whose grid cell is the one their coordinates give (the trace finds a point by its cell).
      inCell: (db.prepare('SELECT cell, lat, lon FROM locations WHERE uid = ?').all(uid) as Array<{ cell: number, lat: number, lon: number }>)
        .filter((p) => p.cell === cellOf(p.lat, p.lon)).length,
      maxSeq: Math.max(one('SELECT max(seq) FROM observations WHERE uid = ?'), one('SELECT max(seq) FROM locations WHERE uid = ?'))
    }
  }

  /** What the chain's entries [0, end) should give, counted from the chain itself. */
  async function expectedRows (user: UserId, end: number): Promise<{ observations: number, locations: number }> {
    const chain = await ledger.chain(user)
    let observations = 0
    let locations = 0
    for (const { entry } of await chain.read({ start: 0, end })) {
      if (entry.type === 'exam' || entry.type === 'exercise') observations += entry.plain.observations.length
      if (entry.type === 'location') locations += entry.plain.points.length
    }
    return { observations, locations }
  }

  async function expectConsistent (index: QueryIndex): Promise<void> {
    // Every point is in the cell index (which a rebuild makes at its end).
    const inIndex = index.database.prepare('SELECT count(*) FROM locations INDEXED BY locations_by_cell WHERE cell >= 0').pluck().get()
    expect(inIndex).toBe(index.counts().locations)
    for (const u of users) {
      const cursor = index.indexedLength(u.userId)
      const rows = rowsOf(index, u.userId)
      expect({ observations: rows.observations, locations: rows.locations }).toEqual(await expectedRows(u.userId, cursor))
      expect(rows.inCell).toBe(rows.locations)
      expect(rows.maxSeq).toBeLessThan(Math.max(cursor, 0))
    }
  }

  it('a batch that throws inside its transaction leaves neither its rows nor its cursor; the next run continues', async () => {
    const path = freshPath()
    const user = users[0]!.userId
    const failing = QueryIndex.open(path, { batchSize: 2, onBatch: (b) => { if (b.from >= 4) throw new Error('injected fault') } })
    await expect(failing.indexChain(await ledger.chain(user))).rejects.toThrow('injected fault')
    expect(failing.indexedLength(user)).toBe(4)
    await expectConsistent(failing)
    await failing.close()

    const index = QueryIndex.open(path, { batchSize: 2 })
    expect(index.indexedLength(user)).toBe(4)
    const result = await index.indexChain(await ledger.chain(user))
    expect(result.from).toBe(4)
    expect(result.to).toBe((await ledger.chain(user)).length)
    await expectConsistent(index)
    const whole = QueryIndex.open(freshPath())
    await whole.indexChain(await ledger.chain(user))
    expect(rowsOf(index, user)).toEqual(rowsOf(whole, user))
    expect(index.series(user, '55423-8')).toEqual(whole.series(user, '55423-8'))
    await whole.close()
    await index.close()
  })

  it('a process killed inside a batch\'s transaction leaves a consistent index, which a restart completes', async () => {
    const path = freshPath()
    await ledger.close()
    const moduleUrl = new URL('../src/query-index/index.ts', import.meta.url).href
    // The child indexes every chain one entry per transaction, announcing each batch from inside its transaction, then stalls there.
    const code = `
      import { writeSync } from 'node:fs'
      const { Ledger } = await import('@healthchain/ledger')
      const { QueryIndex } = await import(${JSON.stringify(moduleUrl)})
      const ledger = await Ledger.open({ dir: ${JSON.stringify(storeDir)} })
      let batches = 0
      const index = QueryIndex.open(${JSON.stringify(path)}, { batchSize: 1, onBatch: () => {
        writeSync(1, 'batch ' + (++batches) + '\\n')
        if (batches === 25) { const until = Date.now() + 60000; while (Date.now() < until) {} }
      } })
      for (const user of ledger.users()) await index.indexChain(await ledger.chain(user), user)
      writeSync(1, 'finished\\n')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('batch 25\n')) resolve()
      })
      void exited.then(() => reject(new Error(`the child ended before batch 25: ${out.slice(-200)} ${err.slice(-2000)}`)))
    })
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    expect(out).not.toContain('finished')

    ledger = await Ledger.open({ dir: storeDir })
    const index = QueryIndex.open(path)
    const cursors = users.map((u) => index.indexedLength(u.userId))
    // 24 batches of one entry each were committed; the 25th, killed in its transaction, left nothing.
    expect(cursors.reduce((s, c) => s + c, 0)).toBe(24)
    await expectConsistent(index)
    for (const u of users) await index.indexChain(await ledger.chain(u.userId), u.userId)
    for (const u of users) expect(index.indexedLength(u.userId)).toBe((await ledger.chain(u.userId)).length)
    await expectConsistent(index)
    await index.close()
  }, 60_000)

  it('a process killed during a rebuild leaves a file the next open empties; the catch-up then indexes every chain again', async () => {
    const path = freshPath()
    // A complete index first: the rebuild killed below starts from a full file, as `healthchain reindex` would.
    const full = QueryIndex.open(path)
    for (const u of users) await full.indexChain(await ledger.chain(u.userId), u.userId)
    const complete = users.map((u) => rowsOf(full, u.userId))
    await full.close()
    await ledger.close()
    const moduleUrl = new URL('../src/query-index/index.ts', import.meta.url).href
    // The child rebuilds with one entry per batch, announcing each batch from inside its transaction, and stalls in the 40th.
    const code = `
      import { writeSync } from 'node:fs'
      const { Ledger } = await import('@healthchain/ledger')
      const { QueryIndex } = await import(${JSON.stringify(moduleUrl)})
      const ledger = await Ledger.open({ dir: ${JSON.stringify(storeDir)} })
      let batches = 0
      const index = QueryIndex.open(${JSON.stringify(path)}, { batchSize: 1, onBatch: () => {
        writeSync(1, 'batch ' + (++batches) + '\\n')
        if (batches === 40) { const until = Date.now() + 60000; while (Date.now() < until) {} }
      } })
      await index.rebuild(ledger)
      writeSync(1, 'finished\\n')
    `
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], { cwd: fileURLToPath(new URL('../..', import.meta.url)), stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stderr.on('data', (chunk: Buffer) => { err += chunk.toString() })
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)))
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        out += chunk.toString()
        if (out.includes('batch 40\n')) resolve()
      })
      void exited.then(() => reject(new Error(`the child ended before batch 40: ${out.slice(-200)} ${err.slice(-2000)}`)))
    })
    child.kill('SIGKILL')
    expect(await exited).toBe('SIGKILL')
    expect(out).not.toContain('finished')

    ledger = await Ledger.open({ dir: storeDir })
    // The killed rebuild had committed 39 entries' rows without their secondary indexes: such a file is never served as it is.
    const index = QueryIndex.open(path)
    expect(rebuildUnderWay(index.database)).toBe(false)
    expect(index.counts()).toEqual({ chains: 0, observations: 0, locations: 0 })
    for (const u of users) expect(index.indexedLength(u.userId)).toBe(0)
    for (const u of users) await index.indexChain(await ledger.chain(u.userId), u.userId)
    await expectConsistent(index)
    expect(users.map((u) => rowsOf(index, u.userId))).toEqual(complete)
    await index.close()
  }, 60_000)

  it('a chain indexed while a rebuild runs is in the cell index with the others when the rebuild ends', async () => {
    const index = QueryIndex.open(freshPath())
    // The last chain the rebuild will reach: indexed now, by another caller, while the rebuild is on its first.
    const last = users[users.length - 1]!
    let during: Promise<unknown> | undefined
    let underWay = false
    await index.rebuild(ledger, (p) => {
      if (p.chainsDone !== 0) return
      underWay = rebuildUnderWay(index.database)
      during = ledger.chain(last.userId).then(async (chain) => await index.indexChain(chain, last.userId))
    })
    await during
    expect(underWay).toBe(true)
    expect(rebuildUnderWay(index.database)).toBe(false)
    await expectConsistent(index)
    for (const u of users) expect(index.indexedLength(u.userId)).toBe((await ledger.chain(u.userId)).length)
    await index.close()
  })

  it('an erasure removes the rows of the entries it names, and a rebuild never brings them back', async () => {
    const index = QueryIndex.open(freshPath())
    const owner = users.find((u) => data.entries.get(u.userId)!.some((e) => e.type === 'exercise'))!
    const user = owner.userId
    await index.indexChain(await ledger.chain(user))
    const entries = data.entries.get(user)!
    const exercise = entries.find((e) => e.type === 'exercise')!
    const location = entries.find((e) => e.type === 'location')!
    const stepsBefore = index.series(user, '55423-8').count
    const locationsBefore = rowsOf(index, user).locations
    expect(index.series(user, '55423-8').points.some((p) => p.seq === exercise.seq)).toBe(true)

    const chain = await ledger.chain(user)
    const seq = chain.length
    const erasure = signEntry(
      buildErasure([exercise.seq, location.seq], { time: data.start + data.days * DAY }, crypto),
      { chainKey: chain.key, seq }, owner.keys.sign.secretKey, crypto
    )
    await chain.append(erasure, seq)
    const result = await index.indexChain(await ledger.chain(user))
    expect(result.erased).toBeGreaterThan(0)

    const after = index.series(user, '55423-8')
    expect(after.count).toBe(stepsBefore - 1)
    expect(after.points.some((p) => p.seq === exercise.seq)).toBe(false)
    const pointsErased = location.type === 'location' ? location.plain.points.length : 0
    expect(rowsOf(index, user).locations).toBe(locationsBefore - pointsErased)
    const gone = (ix: QueryIndex): number => ix.database.prepare('SELECT (SELECT count(*) FROM observations WHERE seq IN (?, ?) AND uid = c.uid) + (SELECT count(*) FROM locations WHERE seq IN (?, ?) AND uid = c.uid) FROM chains c WHERE user_id = ?')
      .pluck().get(exercise.seq, location.seq, exercise.seq, location.seq, user) as number
    expect(gone(index)).toBe(0)
    await expectConsistent(index)

    await index.rebuild(ledger)
    await expectConsistent(index)
    expect(gone(index)).toBe(0)
    expect(index.series(user, '55423-8')).toEqual(after)
    await index.close()
  })

  it('a replica is indexed only as far as it has verified', async () => {
    const index = QueryIndex.open(freshPath())
    const user = users[1]!.userId
    const chain = await ledger.chain(user)
    const partial = await index.indexChain(lens(chain, { verifiedLength: chain.length - 3 }))
    expect(partial.to).toBe(chain.length - 3)
    await expectConsistent(index)
    const rest = await index.indexChain(chain)
    expect(rest).toMatchObject({ from: chain.length - 3, to: chain.length })
    await index.close()
  })

  it('a chain replaced under the same user starts over; an index of another schema version is emptied; the file is owner-only', async () => {
    const path = freshPath()
    let index = QueryIndex.open(path)
    const user = users[2]!.userId
    const chain = await ledger.chain(user)
    await index.indexChain(chain)
    const rows = rowsOf(index, user)
    const replaced = await index.indexChain(lens(chain, { key: new Uint8Array(32).fill(7) }))
    expect(replaced.from).toBe(0)
    expect(rowsOf(index, user)).toEqual(rows)

    // Plain health data: the file is owner-only.
    if (process.platform !== 'win32') expect((await stat(path)).mode & 0o077).toBe(0)

    index.database.prepare("UPDATE meta SET value = '0' WHERE key = 'schema_version'").run()
    await index.close()
    index = QueryIndex.open(path)
    expect(index.counts()).toEqual({ chains: 0, observations: 0, locations: 0 })
    expect(index.indexedLength(user)).toBe(0)
    await index.close()
  })

  it('concurrent runs for one chain index each entry once', async () => {
    const index = QueryIndex.open(freshPath(), { batchSize: 3 })
    const user = users[3]!.userId
    const chain = await ledger.chain(user)
    const results = await Promise.all([index.indexChain(chain), index.indexChain(chain), index.indexChain(chain)])
    expect(results.map((r) => r.to)).toEqual([chain.length, chain.length, chain.length])
    expect(results.reduce((s, r) => s + r.entries, 0)).toBe((await chain.read({ start: 0 })).length)
    await expectConsistent(index)
    await index.close()
  })

  it('followLedger catches up every chain, then follows appends as they happen', async () => {
    const index = QueryIndex.open(freshPath())
    const follower = index.followLedger(ledger)
    try {
      await follower.idle()
      for (const u of users) expect(index.indexedLength(u.userId)).toBe((await ledger.chain(u.userId)).length)
      const owner = users[4]!
      const seq = await appendSteps(owner, 4321, 3_600_000)
      await waitUntil(() => index.indexedLength(owner.userId) === seq + 1, 'the follower to index the new entry')
      expect(index.series(owner.userId, '55423-8').latest).toMatchObject({ value: 4321, seq })
      expect(follower.stats.failures).toBe(0)
    } finally {
      await follower.stop()
      await index.close()
    }
  })

  it('after a restart the catch-up opens only the chains that grew, found by their stored lengths; unreadable lengths queue every chain', async () => {
    const path = freshPath()
    const first = QueryIndex.open(path)
    const following = first.followLedger(ledger)
    await following.idle()
    await following.stop()
    await first.close()

    // While no follower runs, one chain grows.
    const owner = users[2]!
    const seq = await appendSteps(owner, 777, 7_200_000)
    await ledger.closeIdle(0)
    expect(ledger.openChainCount).toBe(0)

    const index = QueryIndex.open(path)
    const follower = index.followLedger(ledger)
    try {
      await follower.idle()
      expect(follower.stats).toMatchObject({ indexedChains: 1, skippedChains: users.length - 1, failures: 0 })
      // The chain it opened to index is closed again: the catch-up leaves nothing open.
      expect(ledger.openChainCount).toBe(0)
      expect(index.indexedLength(owner.userId)).toBe(seq + 1)
      expect(index.series(owner.userId, '55423-8').latest).toMatchObject({ value: 777, seq })
      for (const u of users) expect(index.indexedLength(u.userId)).toBe((await ledger.chain(u.userId)).length)
    } finally {
      await follower.stop()
    }

    // A ledger whose stored lengths cannot be read: every chain is queued, and nothing is missed.
    const unreadable = new Proxy(ledger, {
      get (target, prop) {
        if (prop === 'storedLengths') return async () => { throw new Error('storage unreadable') }
        const value = Reflect.get(target, prop, target)
        return typeof value === 'function' ? value.bind(target) : value
      }
    })
    const fallback = index.followLedger(unreadable)
    try {
      await fallback.idle()
      expect(fallback.stats).toMatchObject({ indexedChains: users.length, skippedChains: 0, failures: 0 })
    } finally {
      await fallback.stop()
      await index.close()
    }
  })

  it('a chain whose indexing fails is looked at again shortly: a passing fault does not leave it unindexed until it grows', async () => {
    const user = users[1]!.userId
    let faults = 2
    const index = QueryIndex.open(freshPath(), { onBatch: (b) => { if (b.user === user && faults > 0) { faults--; throw new Error('storage busy') } } })
    const failed: string[] = []
    const follower = index.followLedger(ledger, { retryMs: 10, onError: (u) => { failed.push(u) } })
    try {
      await waitUntil(async () => index.indexedLength(user) === (await ledger.chain(user)).length, 'the failed chain to be indexed on a retry')
      expect(failed).toEqual([user, user])
      expect(follower.stats.failures).toBe(2)
      for (const u of users) expect(index.indexedLength(u.userId)).toBe((await ledger.chain(u.userId)).length)
    } finally {
      await follower.stop()
      await index.close()
    }
  })

  it('refuses bad parameters with BAD_REQUEST naming the field, and a closed index with CLOSED', async () => {
    const index = QueryIndex.open(freshPath())
    const user = users[0]!.userId
    const window = { since: data.start, until: data.start + DAY }
    const refused = (fn: () => unknown, field: string): void => {
      expect(fn).toThrow(expect.objectContaining({ name: 'NodeError', code: 'BAD_REQUEST', field }))
    }
    refused(() => index.trace(user, { ...window, radiusMetres: 0, windowMinutes: 15 }), 'radiusMetres')
    refused(() => index.trace(user, { ...window, radiusMetres: 10, windowMinutes: 2000 }), 'windowMinutes')
    refused(() => index.trace(user, { since: data.start, until: data.start + 100 * DAY, radiusMetres: 10, windowMinutes: 15 }), 'until')
    refused(() => index.trace(user, { since: data.start, until: data.start, radiusMetres: 10, windowMinutes: 15 }), 'until')
    refused(() => index.series(user, 'glucose'), 'code')
    refused(() => index.series(user, '2339-0', { since: 12 }), 'since')
    refused(() => index.exerciseSummary(user, 'month' as 'day'), 'period')
    refused(() => index.exerciseSummary(user, 'day', { utcOffsetMinutes: 10_000 }), 'utcOffsetMinutes')
    refused(() => index.statistics({ period: 'year' as 'day' }), 'period')
    await index.close()
    expect(() => index.series(user, '2339-0')).toThrow(expect.objectContaining({ code: 'CLOSED' }))
  })
})

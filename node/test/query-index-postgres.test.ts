/**
 * The daemon on a PostgreSQL query index (config `index.kind: postgres`), on
 * real daemons and a real PostgreSQL server with PostGIS: an examiner's
 * exams and a phone's points written at a SQLite node are replicated to a
 * node whose index is PostgreSQL, whose follower indexes them; its HTTP
 * answers equal the SQLite node's. A database that cannot be reached is
 * INDEX_DATABASE, naming the URL without its password.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { fromHex, type UserKeys } from '@healthchain/core'
import { openQueryIndex, parseConfig, PgQueryIndex } from '../src/index.js'
import { call, enrolOverHttp, startConsortium, staffToken, waitUntil, type TestConsortium, type TestNode } from './helpers/daemons.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'
import { SKIP_POSTGRES, startPostgres, type PostgresServer } from './helpers/postgres.js'
import type { TestChain } from './helpers/user-writes.js'

const T0 = Date.parse('2026-05-04T08:00:00Z')

function bp (value: number, time: number): object {
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8480-6' }], text: 'Systolic BP' },
    effectiveDateTime: new Date(time).toISOString(),
    valueQuantity: { value, unit: 'mmHg', system: 'http://unitsofmeasure.org', code: 'mm[Hg]' }
  }
}

// HEALTHCHAIN_SKIP_POSTGRES=1 skips these on purpose (reported as skipped); without it, no PostgreSQL is a failure.
describe.skipIf(SKIP_POSTGRES)('a node whose query index is PostgreSQL', () => {
  let server: PostgresServer
  let net: TestConsortium
  let a: TestNode
  let b: TestNode
  let alice: TestChain

  beforeAll(async () => {
    server = await startPostgres()
    const url = await server.createDatabase('hospital_b_index')
    net = await startConsortium([['hospital-a', 'examiner'], ['hospital-b', 'examiner']], {
      indexOf: (id) => id === 'hospital-b' ? { kind: 'postgres', url } : undefined
    })
    a = net.node('hospital-a')
    b = net.node('hospital-b')
    const staffA = await staffToken(a)
    const { user, chainKey } = await enrolOverHttp(a, staffA)
    alice = { user: user as UserKeys, chainKey: fromHex(chainKey, 32, 'chainKey') }
    for (const [i, value] of [118, 131, 142].entries()) {
      const reply = await call(a.url, 'POST', `/v1/users/${alice.user.userId}/fhir`, { token: staffA, body: bp(value, T0 + i * 86_400_000) })
      expect(reply.status, JSON.stringify(reply.body)).toBe(201)
    }
  }, 120_000)

  afterAll(async () => {
    await net?.close()
    await server?.stop()
  })

  it('runs on PostgreSQL, indexes what replication brings, and answers as the SQLite node does', async () => {
    expect(b.daemon.index).toBeInstanceOf(PgQueryIndex)
    expect(a.daemon.index).not.toBeInstanceOf(PgQueryIndex)
    const staffB = await staffToken(b)
    const path = `/v1/users/${alice.user.userId}/series?code=8480-6`
    await waitUntil(async () => (await call(b.url, 'GET', path, { token: staffB })).body.count === 3, 'hospital-b\'s PostgreSQL index to hold the replicated exams')
    const atB = await call(b.url, 'GET', path, { token: staffB })
    const atA = await call(a.url, 'GET', path, { token: await staffToken(a) })
    expect(atB.status).toBe(200)
    expect(atB.body).toMatchObject({ count: 3, min: 118, max: 142, change: 24, outOfRange: 2 })
    expect(atB.body).toEqual(atA.body)
    expect(await b.daemon.index.indexedLength(alice.user.userId)).toBe((await b.daemon.ledger.chain(alice.user.userId)).verifiedLength)
  }, 60_000)

  it('a bad parameter is still a BAD_REQUEST naming its part of the request', async () => {
    const reply = await call(b.url, 'GET', `/v1/users/${alice.user.userId}/series?code=8480-6&since=2026-05-05T00:00:00Z&until=2026-05-04T00:00:00Z`,
      { token: await staffToken(b) })
    expect(reply.status).toBe(400)
    expect(reply.body.error).toMatchObject({ code: 'BAD_REQUEST', field: expect.stringMatching(/^query\./) })
  })

  it('SQL in a query parameter is a value, never SQL: the answer equals the SQLite node\'s and the tables are still there', async () => {
    const staffA = await staffToken(a)
    const staffB = await staffToken(b)
    for (const code of ["8480-6' OR '1'='1", "8480-6'; DROP TABLE observations; --", '8480-6" OR 1=1 --', "' UNION SELECT user_id, 1, 1, 1, 1 FROM chains --"]) {
      const path = `/v1/users/${alice.user.userId}/series?code=${encodeURIComponent(code)}`
      const atB = await call(b.url, 'GET', path, { token: staffB })
      const atA = await call(a.url, 'GET', path, { token: staffA })
      expect(atB.status, code).toBeLessThan(500)
      expect(atB, code).toEqual(atA)
      expect(JSON.stringify(atB.body), code).not.toContain(alice.user.userId)
    }
    const after = await call(b.url, 'GET', `/v1/users/${alice.user.userId}/series?code=8480-6`, { token: staffB })
    expect(after.body).toMatchObject({ count: 3 })
  })

  it('runs every session with JIT off, even when the URL asks for it on', async () => {
    const url = await server.createDatabase('jit_check')
    for (const given of [url, `${url}?options=${encodeURIComponent('-c jit=on')}`]) {
      const index = await PgQueryIndex.open(given)
      try {
        const pool = (index as unknown as { pool: { query: (sql: string) => Promise<{ rows: Array<{ jit: string }> }> } }).pool
        // More sessions than one: the pool's first and those it opens for queries at once.
        const answers = await Promise.all(Array.from({ length: 4 }, async () => (await pool.query('SHOW jit')).rows[0]!.jit))
        expect(answers).toEqual(['off', 'off', 'off', 'off'])
      } finally {
        await index.close()
      }
    }
  })

  it('a database that cannot be reached is INDEX_DATABASE, naming the URL without its password', async () => {
    const dir = await makeTempDir('healthchain-pg-unreachable-')
    try {
      const url = 'postgres://healthchain:s3cret@127.0.0.1:1/nowhere'
      const config = parseConfig({ name: 'hospital-c', role: 'examiner', dataDir: dir, index: { kind: 'postgres', url } }, { baseDir: dir })
      const error = await openQueryIndex(config.index, dir).then(() => undefined, (err: unknown) => err)
      expect(error).toMatchObject({ code: 'INDEX_DATABASE' })
      expect((error as Error).message).toContain('127.0.0.1:1/nowhere')
      expect((error as Error).message).not.toContain('s3cret')
    } finally {
      await removeDir(dir)
    }
  })
})

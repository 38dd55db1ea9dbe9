/**
 * `healthchain reindex --config`: the index the node's config names is
 * rebuilt from the stopped node's chains — its SQLite file, or its
 * PostgreSQL database (a real server), whose rows from before are dropped.
 */
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  buildGenesis, buildUserEntry, newRecoveryPhrase, signEntry, userKeysFromPhrase, type InstitutionId, type UserKeys
} from '@healthchain/core'
import { Ledger } from '@healthchain/ledger'
import { INDEX_FILE_NAME, PgQueryIndex, QueryIndex } from '../src/query-index/index.js'
import { cli, errorCode } from './helpers/cli.js'
import { crypto, makeTempDir, removeDir } from './helpers/fixtures.js'
import { SKIP_POSTGRES, startPostgres, type PostgresServer } from './helpers/postgres.js'

const HOSPITAL = 'hospital-a' as InstitutionId
const STEPS = '55423-8'

let dir: string
let server: PostgresServer | undefined
beforeAll(async () => {
  dir = await makeTempDir('healthchain-reindex-')
  if (!SKIP_POSTGRES) server = await startPostgres()
}, 120_000)
afterAll(async () => {
  await server?.stop()
  await removeDir(dir)
})

/** A stopped examiner node holding `users` chains, each with one exercise entry; its config file names `index`. */
async function stoppedNode (name: string, index: Record<string, string>): Promise<{ config: string, nodeDir: string, users: UserKeys[] }> {
  const nodeDir = join(dir, name)
  const governance = join(dir, `${name}-governance.json`)
  for (const argv of [
    ['keys', 'create', '--dir', nodeDir],
    ['consortium', 'create', '--host-dir', nodeDir, '--name', 'Reindex', '--institution', HOSPITAL, '--governance-key', governance],
    ['admit', '--host-dir', nodeDir, '--governance-key', governance, '--institution', HOSPITAL, '--role', 'examiner', '--data-dir', nodeDir]
  ]) expect((await cli(argv)).code, argv.join(' ')).toBe(0)
  const users = [userKeysFromPhrase(newRecoveryPhrase(), crypto), userKeysFromPhrase(newRecoveryPhrase(), crypto)]
  const ledger = await Ledger.open({ dir: join(nodeDir, 'store'), institution: HOSPITAL, crypto, verifyWorkers: 0 })
  try {
    for (const user of users) {
      const chainKey = await ledger.chainKeyFor(user.userId)
      const chain = await ledger.enrol(signEntry(buildGenesis(user, HOSPITAL, {}, crypto), { chainKey, seq: 0 }, user.sign.secretKey, crypto))
      const now = Date.now()
      const exercise = buildUserEntry('exercise', { start: now - 1000, end: now, observations: [{ code: STEPS, value: 321, unit: '{steps}' }] }, {}, crypto)
      await chain.append(signEntry(exercise, { chainKey, seq: 1 }, user.sign.secretKey, crypto), 1)
    }
  } finally {
    await ledger.close()
  }
  const config = join(dir, `${name}.json`)
  await writeFile(config, JSON.stringify({
    name: HOSPITAL, role: 'examiner', dataDir: nodeDir, api: { host: '127.0.0.1', port: 0 }, p2p: { listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [] }, index
  }))
  return { config, nodeDir, users }
}

describe('healthchain reindex --config', () => {
  it('rebuilds the SQLite index the config names, in the config\'s data directory', async () => {
    const { config, nodeDir, users } = await stoppedNode('sqlite-node', { kind: 'sqlite' })
    const run = await cli(['reindex', '--config', config, '--json'])
    expect(run.code, run.stderr).toBe(0)
    expect(run.json()).toMatchObject({ chainsDone: 2, chainsTotal: 2, entriesDone: 4, failed: [] })
    const index = QueryIndex.open(join(nodeDir, 'index', INDEX_FILE_NAME))
    try {
      expect(index.series(users[1]!.userId, STEPS).count).toBe(1)
    } finally {
      await index.close()
    }
  })

  it.skipIf(SKIP_POSTGRES)('rebuilds the PostgreSQL index the config names: rows from before are gone, every chain is indexed again', async () => {
    const url = await server!.createDatabase('reindex_target')
    // Rows the store does not back: another node's chains, indexed into the same database first. The rebuild must drop them.
    const other = await stoppedNode('pg-other', { kind: 'postgres', url })
    const first = await cli(['reindex', '--config', other.config, '--json'])
    expect([first.code, first.json().chainsDone]).toEqual([0, 2])
    const { config, users } = await stoppedNode('pg-node', { kind: 'postgres', url })

    const run = await cli(['reindex', '--config', config])
    expect(run.code, run.stderr).toBe(0)
    expect(run.stdout).toMatch(/index rebuilt \(postgres\): 2 chains, 4 entries/)
    expect(run.stderr).toMatch(/reindex \[#+\] 100%/)
    const after = await PgQueryIndex.open(url)
    try {
      expect((await after.users()).sort()).toEqual(users.map((u) => u.userId).sort())
      expect((await after.series(other.users[0]!.userId, STEPS)).count).toBe(0)
      expect((await after.series(users[0]!.userId, STEPS)).count).toBe(1)
    } finally {
      await after.close()
    }
  }, 120_000)

  it('says which node when given neither --dir nor --config, and refuses both at once', async () => {
    expect(errorCode(await cli(['reindex']))).toBe('USAGE')
    const both = await cli(['reindex', '--dir', dir, '--config', join(dir, 'x.json')])
    expect(both.code).toBe(2)
    expect(both.stderr).toMatch(/cannot be used with/)
  })
})

/**
 * An erasure acknowledged while indexChain holds a batch it has read but not
 * written yet: the erased entries' rows must not reach the index. (Stored
 * blocks are read one await at a time, and a batch read ahead waits for the
 * one before it to be written, so an erasure can land in between.) Real
 * chains, a real SQLite file.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildErasure, signEntry } from '@healthchain/core'
import type { UserChain } from '@healthchain/ledger'
import { generateDataset, type Dataset } from '../src/testing/index.js'
import { QueryIndex } from '../src/query-index/index.js'
import { crypto, makeTempDir, removeDir } from './helpers/fixtures.js'

describe('an erasure acknowledged during an indexChain', () => {
  let dir: string
  let data: Dataset

  beforeAll(async () => {
    dir = await makeTempDir('healthchain-index-erasure-window-')
    data = await generateDataset({ dir: join(dir, 'store'), users: 2, days: 2, seed: 'index-erasure-window', contacts: 0, nearMisses: 0 })
  }, 60_000)

  afterAll(async () => {
    await data?.ledger.close()
    await removeDir(dir)
  })

  it('leaves out the rows of entries whose erasure was acknowledged after their batch was read and before it was written', async () => {
    const owner = data.users[0]!
    const chain: UserChain = await data.ledger.chain(owner.userId)
    const index = QueryIndex.open(join(dir, 'index.sqlite'))
    try {
      // Positions with rows: the exercise/location entries of the data set.
      const targets: number[] = []
      for (let seq = 1; seq < chain.length && targets.length < 3; seq++) {
        const e = await chain.get(seq)
        if (e?.type === 'exercise' || e?.type === 'location') targets.push(seq)
      }
      expect(targets.length).toBeGreaterThan(0)
      let acknowledged = false
      const readBlocks = chain.readBlocks.bind(chain)
      chain.readBlocks = async (start, end) => {
        const blocks = await readBlocks(start, end)
        if (!acknowledged) {
          // The user's erasure arrives (and is acknowledged: its targets are cleared) while the batch is in hand.
          const seq = chain.length
          const erasure = signEntry(buildErasure(targets, {}, crypto), { chainKey: chain.key, seq }, owner.keys.sign.secretKey, crypto)
          await chain.append(erasure, seq)
          acknowledged = true
          for (const t of targets) expect(await chain.get(t)).toBeNull()
        }
        return blocks
      }
      await index.indexChain(chain)
      expect(acknowledged).toBe(true)
      const rows = index.database.prepare(`SELECT (SELECT count(*) FROM observations WHERE seq IN (${targets.join(',')}))
        + (SELECT count(*) FROM locations WHERE seq IN (${targets.join(',')}))`).pluck().get() as number
      expect(rows).toBe(0)
    } finally {
      await index.close()
    }
  }, 30_000)
})

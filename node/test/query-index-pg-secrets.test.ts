/**
 * The PostgreSQL index's URL holds a password (in its user part, or as a
 * `password` or `sslpassword` parameter, as libpq allows): an error naming the
 * database must not carry it, in its message or its causes. No server is
 * needed: the database is unreachable on purpose.
 */
import { describe, expect, it } from 'vitest'
import { openQueryIndex, parseConfig } from '../src/index.js'
import { makeTempDir, removeDir } from './helpers/fixtures.js'

/** Every message along an error's cause chain. */
function messages (err: unknown): string {
  const out: string[] = []
  for (let e = err; e instanceof Error; e = e.cause) out.push(e.message, JSON.stringify(e))
  return out.join('\n')
}

describe('the PostgreSQL index URL in errors', () => {
  it('an unreachable database is INDEX_DATABASE naming where, never the password, wherever the URL holds it', async () => {
    const dir = await makeTempDir('healthchain-pg-secret-')
    try {
      for (const url of [
        'postgres://healthchain:Zk9-s3cret@127.0.0.1:1/nowhere',
        'postgres://healthchain@127.0.0.1:1/nowhere?password=Zk9-s3cret',
        'postgresql://healthchain@127.0.0.1:1/nowhere?sslmode=disable&PassWord=Zk9-s3cret',
        'postgres://healthchain@127.0.0.1:1/nowhere?sslpassword=Zk9-s3cret&sslmode=disable',
        'postgres://healthchain:Zk9-s3cret@127.0.0.1:99999/nowhere'
      ]) {
        const config = parseConfig({ name: 'hospital-c', role: 'examiner', dataDir: dir, index: { kind: 'postgres', url } }, { baseDir: dir })
        const error = await openQueryIndex(config.index, dir).then(() => undefined, (err: unknown) => err)
        expect(error, url).toMatchObject({ code: 'INDEX_DATABASE' })
        expect(messages(error), url).not.toContain('Zk9-s3cret')
        if (!url.includes('99999')) expect((error as Error).message, url).toContain('127.0.0.1:1/nowhere')
      }
    } finally {
      await removeDir(dir)
    }
  })
})

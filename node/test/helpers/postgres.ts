/**
 * A real PostgreSQL server for a test file: initdb into a temporary
 * directory, `pg_ctl start` on a free loopback port (its unix socket in the
 * same directory), one database per test file, stopped and deleted at the
 * end. initdb refuses to run as root, so as root (CI) the server runs as
 * the `postgres` user through runuser.
 *
 * Without PostgreSQL's binaries the tests that need it FAIL, saying what to
 * install, unless HEALTHCHAIN_SKIP_POSTGRES=1 is set: a missing server
 * must never pass silently.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { chown, mkdtemp, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import pg from 'pg'

const run = promisify(execFile)

/** Set to 1 to skip the PostgreSQL runs on purpose (they are reported as skipped, never as passed). */
export const SKIP_POSTGRES = process.env.HEALTHCHAIN_SKIP_POSTGRES === '1'

export interface PostgresServer {
  /** A new, empty database on the server; its postgres:// URL. */
  createDatabase: (name: string) => Promise<string>
  /** The server's data directory (tests read its files). */
  readonly dataDir: string
  stop: () => Promise<void>
}

/** The directory of initdb and pg_ctl: HEALTHCHAIN_PG_BIN, on PATH, or Debian's /usr/lib/postgresql/<version>/bin. */
function binDir (): string {
  const missing = 'PostgreSQL server binaries (initdb, pg_ctl) not found: install Debian\'s postgresql and postgresql-postgis ' +
    '(or set HEALTHCHAIN_PG_BIN), or set HEALTHCHAIN_SKIP_POSTGRES=1 to skip the PostgreSQL runs on purpose'
  const fromEnv = process.env.HEALTHCHAIN_PG_BIN
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(join(fromEnv, 'initdb'))) throw new Error(`${missing} (HEALTHCHAIN_PG_BIN=${fromEnv} has no initdb)`)
    return fromEnv
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir !== '' && existsSync(join(dir, 'initdb'))) return dir
  const debian = '/usr/lib/postgresql'
  const versions = existsSync(debian) ? readdirSync(debian).filter((v) => existsSync(join(debian, v, 'bin', 'initdb'))) : []
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0]
  if (newest === undefined) throw new Error(missing)
  return join(debian, newest, 'bin')
}

async function freePort (): Promise<number> {
  return await new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => { resolve(typeof address === 'object' && address !== null ? address.port : 0) })
    })
  })
}

export async function startPostgres (): Promise<PostgresServer> {
  const bin = binDir()
  const asRoot = process.getuid?.() === 0
  const exec = async (cmd: string, args: string[]): Promise<void> => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', join(bin, cmd), ...args]] : [join(bin, cmd), args]
    await run(file, argv, { env: { ...process.env, LC_ALL: 'C.UTF-8' } })
  }
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-pg-'))
  if (asRoot) {
    const { stdout } = await run('id', ['-u', 'postgres'])
    const { stdout: gid } = await run('id', ['-g', 'postgres'])
    await chown(dir, Number(stdout.trim()), Number(gid.trim()))
  }
  const dataDir = join(dir, 'data')
  const port = await freePort()
  try {
    await exec('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--no-sync'])
    const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off`
    await exec('pg_ctl', ['-D', dataDir, '-o', options, '-l', join(dir, 'server.log'), '-w', 'start'])
  } catch (error) {
    await rm(dir, { recursive: true, force: true })
    throw error
  }
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`
  return {
    dataDir,
    async createDatabase (name) {
      const client = new pg.Client(admin)
      await client.connect()
      try {
        await client.query(`CREATE DATABASE "${name}"`)
      } finally {
        await client.end()
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`
    },
    async stop () {
      await exec('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']).catch(() => {})
      await rm(dir, { recursive: true, force: true })
    }
  }
}

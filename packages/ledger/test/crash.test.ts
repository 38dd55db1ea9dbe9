/**
 * Crash safety: a writer process killed with SIGKILL while appending loses
 * nothing it acknowledged, and the chain it leaves verifies.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createRequire } from 'node:module'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { afterEach, describe, expect, it } from 'vitest'
import { coreOf } from '@healthchain/ledger/testing'
import { bytesToHex } from '@healthchain/core'
import { storedTreeHash, treeSignable } from '../src/index.js'
import {
  crypto, enrol, makeConsortium, newUser, within, writeExam, type TestConsortium
} from './helpers/consortium.js'

const require = createRequire(import.meta.url)
const TSX = pathToFileURL(require.resolve('tsx')).href
const WRITER = fileURLToPath(new URL('./fixtures/crash-writer.ts', import.meta.url))

let c: TestConsortium | undefined
let child: ChildProcess | undefined
afterEach(async () => {
  if (child !== undefined && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  child = undefined
  await c?.cleanup()
})

/** Starts the writer and resolves with the positions it acknowledged once it has acknowledged `count`, after killing it. */
async function runAndKill (dir: string, user: string, signKey: Uint8Array, count: number): Promise<number[]> {
  const proc = spawn(process.execPath, ['--import', TSX, WRITER, dir, user], {
    env: { ...process.env, HC_TEST_SIGN_KEY: bytesToHex(signKey) },
    stdio: ['ignore', 'pipe', 'pipe']
  })
  child = proc
  const acked: number[] = []
  let stderr = ''
  let pending = ''
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  const enough = new Promise<void>((resolve, reject) => {
    proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
    proc.stdout!.on('data', (d: Buffer) => {
      pending += d.toString()
      const lines = pending.split('\n')
      pending = lines.pop()!
      for (const line of lines) {
        if (line === 'ready' || acked.length >= count) continue
        acked.push(Number(line))
        if (acked.length === count) {
          proc.kill('SIGKILL')
          resolve()
        }
      }
    })
    proc.once('exit', (code, signal) => {
      if (acked.length < count) reject(new Error(`writer exited early (${code ?? signal}): ${stderr.slice(0, 2000)}`))
    })
  })
  await within(enough, 20_000, `${count} acknowledged appends`)
  await within(exited, 5_000, 'writer exit')
  expect(proc.signalCode).toBe('SIGKILL')
  return acked
}

describe('crash safety', () => {
  it('every entry acknowledged before SIGKILL is present after reopening, and the chain verifies', async () => {
    c = await makeConsortium({ verifyWorkers: 0 })
    const user = newUser()
    const chain = await enrol(c.ledger, user)
    await writeExam(c.ledger, chain, c.institutions.hospitalA)
    await c.ledger.close()

    const acked = await runAndKill(c.ledgerDir, user.userId, c.institutions.hospitalA.keys.sign.secretKey, 300)
    expect(new Set(acked).size).toBe(acked.length)
    expect(Math.min(...acked)).toBeGreaterThanOrEqual(2)

    const ledger = await c.reopen()
    // What a restarting node seeds its head log with, read before the chain is opened: the signed head of what was written.
    const { head: stored, contiguousLength } = (await ledger.storedHeads([user.userId])).get(user.userId)!
    expect(ledger.openChainCount).toBe(0)
    const reopened = await ledger.chain(user.userId)
    expect(reopened.length).toBeGreaterThan(Math.max(...acked))
    expect(stored.length).toBe(reopened.length)
    expect(contiguousLength).toBe(reopened.length)
    expect(bytesToHex(stored.root)).toBe(bytesToHex(await storedTreeHash(coreOf(reopened), stored.length)))
    expect(crypto.verify(treeSignable(stored.key, stored.root, stored.length, stored.fork), stored.sig, stored.signer)).toBe(true)
    for (const seq of acked) {
      const entry = await reopened.get(seq)
      expect(entry?.type).toBe('exam')
      expect(entry?.author).toBe('hospital-a')
    }
    const report = await ledger.verify(user.userId)
    expect(report).toMatchObject({ valid: true, missing: [], problems: [] })
    expect(report.verified).toBe(reopened.length)

    // The custodian carries on at the next position.
    const next = reopened.length
    expect(await writeExam(ledger, reopened, c.institutions.hospitalA)).toBe(next)
  })
})

#!/usr/bin/env node
/**
 * Start-up time of the `healthchain` command, as the release notes report it:
 * the median of N runs of `healthchain --version`, and of `healthchain dev`
 * from a fresh directory until it prints that the network is ready (then
 * SIGINT, and the next run). Plain JavaScript so that it measures a built
 * tree and a source tree alike.
 *
 *   node scripts/measure-startup.mjs [--bin node/bin/healthchain.mjs] [--runs 10] [--dev-runs 5] [--base-port 46000]
 */
import { spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'

const { values } = parseArgs({
  options: {
    bin: { type: 'string', default: 'node/bin/healthchain.mjs' },
    runs: { type: 'string', default: '10' },
    'dev-runs': { type: 'string', default: '5' },
    'base-port': { type: 'string', default: '46000' }
  }
})
const bin = resolve(values.bin)

function median (xs) {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2
}

/** Milliseconds from spawn until `done(output)` holds (or the process exits, for a command that ends by itself). */
function timeRun (args, done) {
  return new Promise((resolve, reject) => {
    const started = performance.now()
    const child = spawn(process.execPath, [bin, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    let at
    child.stdout.on('data', (chunk) => {
      out += chunk
      if (at === undefined && done !== undefined && done(out)) {
        at = performance.now() - started
        child.kill('SIGINT')
      }
    })
    child.stderr.on('data', (chunk) => { out += chunk })
    child.on('error', reject)
    child.on('exit', (code) => {
      if (done === undefined && code === 0) resolve(performance.now() - started)
      else if (at !== undefined) resolve(at)
      else reject(new Error(`${args.join(' ')} exited with ${code}: ${out.slice(-400)}`))
    })
  })
}

const version = []
for (let i = 0; i < Number(values.runs); i++) version.push(await timeRun(['--help']))
console.log(`healthchain --help: median ${median(version).toFixed(0)} ms over ${version.length} runs`)

const dev = []
for (let i = 0; i < Number(values['dev-runs']); i++) {
  const dir = await mkdtemp(join(tmpdir(), 'hc-startup-'))
  try {
    dev.push(await timeRun(['dev', '--dir', dir, '--base-port', values['base-port']], (out) => out.includes('dev network ready')))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
console.log(`healthchain dev (fresh dir) to ready: median ${dev.length > 0 ? median(dev).toFixed(0) : '-'} ms over ${dev.length} runs`)

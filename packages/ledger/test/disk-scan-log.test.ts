/// <reference path="../src/hypercore.d.ts" />
/// <reference path="../src/corestore.d.ts" />
/**
 * The on-disk scan that every erasure test relies on, against the place a
 * raw scan is blind: RocksDB's write-ahead log cuts a record at each 32 KiB
 * block's end, so a value written across one sits in the file in two pieces
 * with a header between them. Until the store flushes (a close does not),
 * the log is the only place the value is. A block written by a real
 * Corestore is placed across that boundary, and the scan must still find it
 * — before an erasure, so that "nothing found" after one means something.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Corestore from 'corestore'
import { filesUnder, findOnDisk, markerText, rocksdbLogPayloads, textMarker } from '../../../test/helpers/disk-scan.js'

const dirs: string[] = []
afterEach(async () => {
  for (const dir of dirs.splice(0)) await rm(dir, { recursive: true, force: true })
})

const LOG_BLOCK = 32 * 1024

/** A fresh store holding one core whose only block is `padding` bytes of filler and then `text`; closed again. */
async function storeWithBlock (padding: number, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'healthchain-scan-'))
  dirs.push(dir)
  const store = new Corestore(dir)
  const core = store.get({ name: 'scan' })
  await core.append(Buffer.from('.'.repeat(padding) + text))
  await store.close()
  return dir
}

async function logFiles (dir: string): Promise<Buffer[]> {
  const logs = (await filesUnder(dir)).filter((path) => /\/\d+\.log$/.test(path))
  return await Promise.all(logs.map(async (path) => await readFile(path)))
}

describe('the on-disk scan in RocksDB write-ahead logs', () => {
  it('finds a value that the log cut in two at a block boundary', async () => {
    // Where a block's text lands in the log, from a probe of the same length: then the filler is sized to cut it 10 bytes in.
    const probe = markerText('PROBE')
    const firstPadding = 20_000
    const probeDir = await storeWithBlock(firstPadding, probe)
    const probeAt = (await logFiles(probeDir)).map((log) => log.indexOf(probe)).find((at) => at >= 0)
    expect(probeAt, 'the probe is in one piece in a log file').toBeGreaterThan(firstPadding)
    expect(probeAt!, 'the probe sits in the first block of the log').toBeLessThan(LOG_BLOCK - probe.length)
    const padding = firstPadding + (LOG_BLOCK - 10 - probeAt!)

    const marker = markerText('PROBE')
    const dir = await storeWithBlock(padding, marker)
    const logs = await logFiles(dir)
    // The precondition: in the raw bytes the marker is nowhere whole, and its first ten bytes end the first block.
    expect(logs.some((log) => log.includes(marker)), 'the marker whole in a raw log').toBe(false)
    expect(logs.some((log) => log.subarray(LOG_BLOCK - 10, LOG_BLOCK).toString() === marker.slice(0, 10)), 'the marker cut at the block end').toBe(true)

    expect(logs.some((log) => rocksdbLogPayloads(log).includes(marker)), 'the marker in the joined payloads').toBe(true)
    expect(await findOnDisk(dir, [textMarker(marker)])).toEqual([expect.objectContaining({ marker })])
    expect(await findOnDisk(dir, [textMarker(markerText('ABSENT'))])).toEqual([])
  })

  it('joins pieces only within records: trailers, a torn tail and empty input give no bytes that were not written', () => {
    expect(rocksdbLogPayloads(new Uint8Array(0)).length).toBe(0)
    // A header claiming more than the file holds: the piece that is there, nothing invented.
    const torn = Buffer.concat([Buffer.from([0, 0, 0, 0, 100, 0, 1]), Buffer.from('abc')])
    expect(rocksdbLogPayloads(torn).toString()).toBe('abc')
    // Zeros (preallocated space) hold no record.
    expect(rocksdbLogPayloads(Buffer.alloc(LOG_BLOCK * 2)).length).toBe(0)
  })
})

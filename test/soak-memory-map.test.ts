import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { classify, memoryMapOf, parseSmaps } from '../scripts/soak/memory-map.js'

const KiB = 1024

/** One smaps mapping: its header line and an Rss line. */
function mapping (start: bigint, end: bigint, perms: string, inode: number, path: string, rssKiB: number): string {
  const hex = (n: bigint): string => n.toString(16).padStart(12, '0')
  return [
    `${hex(start)}-${hex(end)} ${perms} 00000000 00:00 ${inode}${path === '' ? '' : '                      ' + path}`,
    `Size:             ${Number(end - start) / KiB} kB`,
    `Rss:              ${rssKiB} kB`,
    'Pss:              0 kB'
  ].join('\n')
}

const M64 = 64n * 1024n * 1024n

describe('the soak run\'s memory map', () => {
  it('counts glibc\'s main arena, 64 MiB-aligned thread arenas, other anonymous memory and files apart', () => {
    const text = [
      mapping(0x555500000000n, 0x555500100000n, 'r-xp', 1234, '/usr/bin/node', 900),
      mapping(0x555600000000n, 0x555610000000n, 'rw-p', 0, '[heap]', 5000),
      // A thread arena: 8 MiB in use at a 64 MiB boundary, the rest of its 64 MiB reserved.
      mapping(0x7f0000000000n, 0x7f0000800000n, 'rw-p', 0, '', 3000),
      mapping(0x7f0000800000n, 0x7f0000000000n + M64, '---p', 0, '', 0),
      // A whole 64 MiB arena in use.
      mapping(0x7f0004000000n, 0x7f0004000000n + M64, 'rw-p', 0, '', 7000),
      // Anonymous, but not on a 64 MiB boundary (a V8 page, say).
      mapping(0x7f0008040000n, 0x7f0008080000n, 'rw-p', 0, '', 256),
      // On a boundary, but its reserved tail does not end the 64 MiB: not an arena.
      mapping(0x7f000c000000n, 0x7f000c100000n, 'rw-p', 0, '', 100),
      mapping(0x7f000c100000n, 0x7f000c200000n, '---p', 0, '', 0),
      mapping(0x7ffc00000000n, 0x7ffc00021000n, 'rw-p', 0, '[stack]', 40)
    ].join('\n')
    expect(classify(parseSmaps(text))).toEqual({
      mainArena: 5000 * KiB,
      threadArenas: (3000 + 7000) * KiB,
      otherAnonymous: (256 + 100 + 40) * KiB,
      file: 900 * KiB
    })
  })

  it('reads this process\'s map, whose kinds add up to its resident memory', () => {
    const map = memoryMapOf(process.pid)
    expect(map).not.toBeNull()
    const total = map!.mainArena + map!.threadArenas + map!.otherAnonymous + map!.file
    expect(map!.file).toBeGreaterThan(0)
    // smaps and status are read at slightly different moments; they agree to within a few MiB.
    const status = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync('/proc/self/status', 'utf8'))![1]!
    expect(Math.abs(total - Number(status) * KiB)).toBeLessThan(16 * 1024 * KiB)
  })

  it('is null for a process that is gone', () => {
    expect(memoryMapOf(2 ** 22 + 12345)).toBeNull()
  })
})

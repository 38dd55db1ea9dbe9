/**
 * Where a process's resident memory is, from /proc/<pid>/smaps: the soak
 * run samples it so that a node whose RSS grows says which kind of memory
 * grew. The kinds follow how Linux and glibc lay memory out:
 *
 * - mainArena: `[heap]`, glibc's main malloc arena (grown with brk);
 * - threadArenas: glibc's other arenas, one or more per thread that
 *   allocates (RocksDB's background jobs, libuv's pool, worker threads):
 *   each an anonymous mapping of 64 MiB (HEAP_MAX_SIZE on 64-bit), aligned
 *   to 64 MiB, its unused tail kept reserved (---p);
 * - otherAnonymous: every other anonymous mapping: V8's heap pages, large
 *   malloc blocks mapped on their own, thread stacks;
 * - file: mapped files (the binary, libraries, anything a process maps).
 *
 * A heuristic, not an accounting: a thread arena that grew beyond one
 * 64 MiB mapping, or a V8 reservation that happens to sit on a 64 MiB
 * boundary, is counted under the other kind.
 */
import { readFileSync } from 'node:fs'

export interface MemoryMap {
  readonly mainArena: number
  readonly threadArenas: number
  readonly otherAnonymous: number
  readonly file: number
}

const ARENA_BYTES = 64 * 1024 * 1024

interface Mapping { start: bigint, end: bigint, perms: string, path: string, rss: number }

/** Parses smaps text into its mappings (address range, permissions, path, Rss). */
export function parseSmaps (text: string): Mapping[] {
  const mappings: Mapping[] = []
  for (const line of text.split('\n')) {
    const header = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line)
    if (header !== null) {
      const inode = header[4]!
      mappings.push({
        start: BigInt('0x' + header[1]!),
        end: BigInt('0x' + header[2]!),
        perms: header[3]!,
        path: inode === '0' ? header[5]!.trim() : (header[5]!.trim() === '' ? '(file)' : header[5]!.trim()),
        rss: 0
      })
      continue
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line)
    if (rss !== null && mappings.length > 0) mappings[mappings.length - 1]!.rss = Number(rss[1]) * 1024
  }
  return mappings
}

/** Sums the mappings' Rss by kind (see the module's comment). */
export function classify (mappings: readonly Mapping[]): MemoryMap {
  let mainArena = 0
  let threadArenas = 0
  let otherAnonymous = 0
  let file = 0
  for (const [i, m] of mappings.entries()) {
    if (m.path === '[heap]') {
      mainArena += m.rss
    } else if (m.path !== '' && !m.path.startsWith('[anon')) {
      if (!m.path.startsWith('[')) file += m.rss
      else otherAnonymous += m.rss // [stack], [vvar], [vdso]
    } else if (isThreadArena(m, mappings[i + 1])) {
      threadArenas += m.rss
    } else {
      otherAnonymous += m.rss
    }
  }
  return { mainArena, threadArenas, otherAnonymous, file }
}

/** A glibc arena heap: read-write, starting on a 64 MiB boundary, and with its reserved tail (if any) exactly 64 MiB long. */
function isThreadArena (m: Mapping, next: Mapping | undefined): boolean {
  if (!m.perms.startsWith('rw') || m.start % BigInt(ARENA_BYTES) !== 0n) return false
  const size = m.end - m.start
  if (size === BigInt(ARENA_BYTES)) return true
  return next !== undefined && next.perms.startsWith('---') && next.start === m.end && next.end - m.start === BigInt(ARENA_BYTES)
}

/** The memory map of a running process; null if it is gone or its smaps cannot be read. */
export function memoryMapOf (pid: number): MemoryMap | null {
  try {
    return classify(parseSmaps(readFileSync(`/proc/${pid}/smaps`, 'utf8')))
  } catch {
    return null
  }
}

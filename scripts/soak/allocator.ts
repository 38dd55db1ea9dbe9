/**
 * The memory allocator the soak run's nodes run with, chosen with
 * `--allocator` and applied through each node process's environment, as
 * the container image applies it (docker/Dockerfile preloads jemalloc).
 *
 * Why it matters: under steady writes, glibc's malloc keeps what RocksDB's
 * threads, libuv's pool and the worker threads freed in per-thread arenas
 * and in holes of its main heap, so a node's RSS creeps up for as long as
 * it runs although nothing it holds grows; jemalloc hands freed pages back
 * to the system after a few seconds. `MALLOC_ARENA_MAX=2` bounds the
 * arenas but not the holes.
 *
 * - `auto` (the default): jemalloc when it is installed, else glibc with
 *   two arenas, saying so;
 * - `jemalloc`: jemalloc, or an error naming the package when it is not
 *   installed;
 * - `glibc-arenas`: glibc with `MALLOC_ARENA_MAX=2`;
 * - `glibc`: glibc as it is.
 */
import { existsSync } from 'node:fs'

export const ALLOCATORS = ['auto', 'jemalloc', 'glibc-arenas', 'glibc'] as const
export type AllocatorChoice = typeof ALLOCATORS[number]

export interface Allocator {
  /** What the nodes run with, for the report: `jemalloc`, `glibc-arenas` or `glibc`. */
  readonly name: Exclude<AllocatorChoice, 'auto'>
  /** Variables added to each node process's environment. */
  readonly env: Readonly<Record<string, string>>
  /** One line for the run's log: what was chosen and why. */
  readonly note: string
}

/** Where Debian, Ubuntu and Fedora-like systems install jemalloc's shared library, and where the container image links it. */
const JEMALLOC_PATHS = [
  '/usr/local/lib/libjemalloc.so.2',
  '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2',
  '/usr/lib/aarch64-linux-gnu/libjemalloc.so.2',
  '/usr/lib64/libjemalloc.so.2',
  '/usr/lib/libjemalloc.so.2'
]

/** jemalloc's shared library: HEALTHCHAIN_JEMALLOC if set, else the first of the usual places that holds it. */
export function findJemalloc (env: NodeJS.ProcessEnv = process.env, exists: (path: string) => boolean = existsSync): string | undefined {
  const named = env.HEALTHCHAIN_JEMALLOC
  if (named !== undefined && named !== '') return exists(named) ? named : undefined
  return JEMALLOC_PATHS.find((path) => exists(path))
}

/** The allocator for `choice`, given where jemalloc is (null: not installed); throws when jemalloc is asked for and not installed. */
export function chooseAllocator (choice: AllocatorChoice, jemalloc: string | null): Allocator {
  const arenas: Allocator = { name: 'glibc-arenas', env: { MALLOC_ARENA_MAX: '2' }, note: 'allocator: glibc with MALLOC_ARENA_MAX=2' }
  switch (choice) {
    case 'glibc':
      return { name: 'glibc', env: {}, note: 'allocator: glibc as it is' }
    case 'glibc-arenas':
      return arenas
    case 'jemalloc':
      if (jemalloc === null) throw new Error(NO_JEMALLOC)
      return { name: 'jemalloc', env: { LD_PRELOAD: jemalloc }, note: `allocator: jemalloc (${jemalloc}), as the container image runs nodes` }
    case 'auto':
      return jemalloc === null
        ? { ...arenas, note: `${arenas.note}: jemalloc is not installed (apt-get install libjemalloc2), the container image's allocator; glibc's RSS creeps up over long runs` }
        : chooseAllocator('jemalloc', jemalloc)
  }
}

const NO_JEMALLOC = 'jemalloc is not installed: apt-get install libjemalloc2 (or set HEALTHCHAIN_JEMALLOC to its libjemalloc.so.2)'

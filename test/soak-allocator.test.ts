import { describe, expect, it } from 'vitest'
import { chooseAllocator, findJemalloc } from '../scripts/soak/allocator.js'

const LIB = '/usr/lib/x86_64-linux-gnu/libjemalloc.so.2'

describe('the soak run\'s allocator', () => {
  it('preloads jemalloc by default when it is installed, as the container image does', () => {
    const a = chooseAllocator('auto', LIB)
    expect(a.name).toBe('jemalloc')
    expect(a.env).toEqual({ LD_PRELOAD: LIB })
  })

  it('falls back to glibc with two arenas when jemalloc is missing, and says why', () => {
    const a = chooseAllocator('auto', null)
    expect(a.name).toBe('glibc-arenas')
    expect(a.env).toEqual({ MALLOC_ARENA_MAX: '2' })
    expect(a.note).toContain('libjemalloc2')
  })

  it('refuses jemalloc asked for by name when it is not installed, naming the package', () => {
    expect(() => chooseAllocator('jemalloc', null)).toThrow(/apt-get install libjemalloc2/)
  })

  it('leaves glibc as it is when asked', () => {
    expect(chooseAllocator('glibc', LIB)).toMatchObject({ name: 'glibc', env: {} })
    expect(chooseAllocator('glibc-arenas', LIB)).toMatchObject({ name: 'glibc-arenas', env: { MALLOC_ARENA_MAX: '2' } })
  })

  it('finds the library where HEALTHCHAIN_JEMALLOC names it, or in the usual places', () => {
    const present = new Set(['/opt/jm/libjemalloc.so.2', LIB])
    const exists = (p: string): boolean => present.has(p)
    expect(findJemalloc({ HEALTHCHAIN_JEMALLOC: '/opt/jm/libjemalloc.so.2' }, exists)).toBe('/opt/jm/libjemalloc.so.2')
    expect(findJemalloc({ HEALTHCHAIN_JEMALLOC: '/nowhere/libjemalloc.so.2' }, exists)).toBeUndefined()
    expect(findJemalloc({}, exists)).toBe(LIB)
    expect(findJemalloc({}, () => false)).toBeUndefined()
  })
})

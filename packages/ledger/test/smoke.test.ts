import { describe, it, expect } from 'vitest'
import { openSealed } from '@healthchain/core'
import { makeConsortium, newUser, enrol, writeExam, crypto } from './helpers/consortium.js'

describe('smoke', () => {
  it('enrols, writes, reads, verifies', async () => {
    const c = await makeConsortium()
    try {
      const user = newUser()
      const chain = await enrol(c.ledger, user)
      const seq = await writeExam(c.ledger, chain, c.institutions.hospitalA)
      expect(seq).toBe(1)
      const e = await chain.get(1)
      expect(openSealed(e!.sealed!, user.box, { chainKey: chain.key, entryId: e!.id }, crypto).notes).toContain('glucose')
      const report = await c.ledger.verify(user.userId)
      console.log(report)
      expect(report.valid).toBe(true)
    } finally { await c.cleanup() }
  })
})

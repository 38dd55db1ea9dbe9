import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildExam, buildGenesis, generatePartyKeys, newRecoveryPhrase, signEntry, userKeysFromPhrase, type InstitutionId } from '@healthchain/core'
import { sodiumProvider as crypto } from '@healthchain/core/sodium'
import { Ledger, verifyChain } from '@healthchain/ledger'
const dir = await mkdtemp(join(tmpdir(), 'p-'))
const gov = generatePartyKeys(crypto); const h = generatePartyKeys(crypto); const A = 'hospital-a' as InstitutionId
const ledger = await Ledger.open({ dir, institution: A, crypto })
const reg = await ledger.createRegistry(gov.sign, 'x')
await reg.append('admit', { institution: A, name: 'a', role: 'examiner', sign: h.sign.publicKey, box: h.box.publicKey }, gov.sign)
const user = userKeysFromPhrase(newRecoveryPhrase(), crypto)
const ck = await ledger.chainKeyFor(user.userId)
const chain = await ledger.enrol(signEntry(buildGenesis(user, A, {}, crypto), { chainKey: ck, seq: 0 }, user.sign.secretKey, crypto))
const ps = []
for (let i = 0; i < 3000; i++) { const u = buildExam({ author: A, reg: 2, chainKey: ck, plain: { observations: [{ code: '8480-6', value: 128, unit: 'mm[Hg]', low: 90, high: 120 }] }, sealed: { notes: 'x'.repeat(700) }, recipients: [user.box.publicKey, h.box.publicKey] }, crypto); ps.push(chain.appendSigned((seq) => signEntry(u, { chainKey: ck, seq }, h.sign.secretKey, crypto))) }
const t0 = performance.now(); await Promise.all(ps); console.log('append µs', (performance.now() - t0) * 1000 / 3000)
for (let r = 0; r < 4; r++) { const t = performance.now(); await verifyChain(chain.core, reg.state, crypto); console.log('verify µs', (performance.now() - t) * 1000 / 3001) }
await ledger.close()

/**
 * FHIR R4 in and out, over the chain service: an Observation or a Bundle of
 * them, validated against the R4 definitions, stored as one exam; a chain
 * read back as a Bundle of Observations built from the caller's own view
 * (sealed values only where the caller can read them).
 */
import type { UserId } from '@healthchain/core'
import type { WriteReply } from '../api/chains.js'
import { chainToBundle } from '../fhir/to-bundle.js'
import { examFromFhir } from '../fhir/to-exam.js'
import { validateFhir } from '../fhir/validate.js'
import type { Caller } from './access.js'
import type { ChainService } from './chains.js'

export interface FhirComponents {
  readonly chains: Pick<ChainService, 'writeExam' | 'read'>
}

export interface FhirService {
  /** Stores `resource` as an exam; `values` says whether its values go in the plain or the sealed part. */
  store (user: UserId, resource: unknown, values: 'plain' | 'sealed'): Promise<WriteReply>
  bundle (caller: Caller, user: UserId): Promise<unknown>
}

export function createFhirService (components: FhirComponents): FhirService {
  const { chains } = components
  return {
    async store (user, resource, values) {
      return await chains.writeExam(user, examFromFhir(validateFhir(resource), values))
    },
    async bundle (caller, user) {
      const views = await chains.read(caller, user, { types: ['exam', 'exercise'] })
      return chainToBundle(views.userId, views.chainKey, views.entries)
    }
  }
}

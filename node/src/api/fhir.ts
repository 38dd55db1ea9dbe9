/** FHIR R4 in and out: the request shapes (the FHIR definitions, not these schemas, judge a resource). */
import { z } from 'zod'

export const fhirWriteQuerySchema = z.strictObject({ values: z.enum(['plain', 'sealed']).optional() })

// Any JSON object here: the FHIR definitions, not this schema, judge it (errors name the element).
export const fhirResourceSchema = z.looseObject({ resourceType: z.string({ error: 'expected a FHIR resource with a resourceType' }) })

/** A Bundle (collection) of Observations, as FHIR defines it. */
export const fhirBundleSchema = z.unknown().describe('a FHIR R4 Bundle of type collection')

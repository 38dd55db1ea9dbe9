/**
 * Field schemas shared by the user-chain and registry entry models. Every
 * limit here is part of wire version 1: raising one is a compatible change for
 * readers, lowering one is not.
 */
import { z } from 'zod'
import { isInstitutionId } from './ids.js'

export const MIN_TIME = Date.UTC(2000, 0, 1)
export const MAX_TIME = Date.UTC(2200, 0, 1)
/** The largest encoded entry a chain accepts, in bytes. */
export const MAX_ENTRY_BYTES = 128 * 1024

/** Limits of user-chain entries (entry.ts), named once. */
export const ENTRY_LIMITS = {
  author: 64,
  title: 200,
  examObservations: 64,
  exerciseObservations: 32,
  locationPoints: 2000,
  /** Horizontal accuracy of a location point, in metres. */
  accuracy: 100_000,
  recipients: 64,
  observationText: 256,
  ucum: 32
} as const

export function bytesOf (length: number): z.ZodType<Uint8Array> {
  return z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length === length, { message: `expected ${length} bytes` })
}

export function bytesBetween (min: number, max: number): z.ZodType<Uint8Array> {
  return z.custom<Uint8Array>((v) => v instanceof Uint8Array && v.length >= min && v.length <= max, { message: `expected ${min}-${max} bytes` })
}

/** Milliseconds since the Unix epoch, between 2000 and 2200. */
export const timeSchema = z.number().int().min(MIN_TIME).max(MAX_TIME)
export const uintSchema = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER)
export const entryIdSchema = bytesOf(16)
export const key32Schema = bytesOf(32)
export const signatureSchema = bytesOf(64)
export const institutionIdSchema = z.string().refine(isInstitutionId, { message: 'expected an institution id (a-z, 0-9, \'-\', 3-64 characters)' })

// The patterns, named once.
// eslint-disable-next-line no-control-regex -- on purpose: free text may hold tab, LF and CR but no other control character
export const TEXT_PATTERN = /^[^\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]*$/
export const LOINC_PATTERN = /^\d{1,7}-\d$/
export const UCUM_PATTERN = /^[\x21-\x7e]+$/

/**
 * Printable text without control characters, and well-formed: a lone
 * UTF-16 surrogate (which JSON's `\ud800` can carry) has no UTF-8 form, so
 * the encoder would store U+FFFD in its place — data other than what was
 * sent. Decoded entries always pass (UTF-8 cannot carry one), so refusing
 * it invalidates nothing stored.
 */
export function textSchema (max: number): z.ZodString {
  return z.string().min(1).max(max).regex(TEXT_PATTERN, { message: 'control characters are not allowed' })
    .refine((value) => value.isWellFormed(), { message: 'expected well-formed text (a lone UTF-16 surrogate has no UTF-8 form)' })
}

/** A LOINC code: up to 7 digits, a dash, one check digit. */
export const loincSchema = z.string().regex(LOINC_PATTERN, { message: 'expected a LOINC code such as 8480-6' })
/** A UCUM unit expression: printable ASCII, no spaces. */
export const ucumSchema = z.string().min(1).max(ENTRY_LIMITS.ucum).regex(UCUM_PATTERN, { message: 'expected a UCUM unit such as mm[Hg]' })

/** One measurement, in the shape of a FHIR R4 Observation's code, value and reference range. */
export const observationSchema = z.strictObject({
  code: loincSchema,
  value: z.union([z.number().finite(), textSchema(ENTRY_LIMITS.observationText)]),
  unit: ucumSchema.optional(),
  low: z.number().finite().optional(),
  high: z.number().finite().optional(),
  time: timeSchema.optional()
})
export type Observation = z.infer<typeof observationSchema>

/**
 * The recovery phrase file, as the CLI and the phone write it
 * (`{ "v": 1, "kind": "user-phrase", "phrase": "…" }`, packages/ledger's
 * key store), so one file works everywhere: the console reads it at
 * sign-in, and offers one to save at enrolment. A plain text file holding
 * just the words is read too.
 */
export interface PhraseFile { readonly v: 1, readonly kind: 'user-phrase', readonly phrase: string }

/** The phrase a file holds; the text itself when it is not a phrase file (the sign-in then says whether the words are valid). */
export function phraseOfFile (text: string): string {
  const trimmed = text.trim()
  if (!trimmed.startsWith('{')) return trimmed
  try {
    const file = JSON.parse(trimmed) as Partial<PhraseFile>
    return file.v === 1 && file.kind === 'user-phrase' && typeof file.phrase === 'string' ? file.phrase : ''
  } catch {
    return ''
  }
}

/** A phrase file's contents, to save. */
export function phraseFileText (phrase: string): string {
  return `${JSON.stringify({ v: 1, kind: 'user-phrase', phrase } satisfies PhraseFile, null, 2)}\n`
}

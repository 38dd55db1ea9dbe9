/**
 * "What we may read sealed, and why": one line per sealed exam, readable or
 * not and the reason, from the chain's consent entries and authors
 * (sealed-access.ts); where the node's answer differs from the chain's
 * reason, the line says so.
 */
import type { JSX } from 'preact'
import type { EntryViewReply } from '@healthchain/node/api'
import { Badge, Notice, formatDate } from '../ui/components.js'
import { authorName } from './history.js'
import { sealedAccess, type AccessReason } from './sealed-access.js'

function reasonText (reason: AccessReason): string {
  switch (reason.kind) {
    case 'wrote': return 'We wrote it: an exam is always sealed for the hospital that writes it.'
    case 'granted':
      return `Granted by the patient on ${formatDate(reason.time)} in entry #${reason.seq}, ` +
        (reason.until === undefined ? 'until they revoke it.' : `until ${formatDate(reason.until)}.`)
    case 'granted-history':
      return `Granted by the patient on ${formatDate(reason.time)} in entry #${reason.seq}, which gave us the key of this earlier exam.`
    case 'revoked': return `Not readable: the patient revoked our access on ${formatDate(reason.time)} in entry #${reason.seq}.`
    case 'expired': return `Not readable: the patient's grant in entry #${reason.seq} ended on ${formatDate(reason.until)}, before this exam.`
    case 'not-granted': return 'Not granted: the patient has not allowed us to read what other hospitals seal.'
  }
}

export function WhyPanel (props: { entries: readonly EntryViewReply[], me: string }): JSX.Element {
  const rows = sealedAccess(props.entries, props.me)
  if (rows.length === 0) return <p class='muted' data-testid='why-empty'>No sealed results in this record.</p>
  const readable = rows.filter((r) => r.opened).length
  return (
    <>
      <p class='muted'>{readable} of {rows.length} sealed exam{rows.length === 1 ? '' : 's'} readable here.</p>
      <ul class='why-list' data-testid='why-list'>
        {[...rows].reverse().map((row) => (
          <li key={row.seq} data-testid='why-row' data-seq={row.seq}>
            <div class='row'>
              <Badge kind='muted'>#{row.seq}</Badge>
              <span>{formatDate(row.time)} · by {authorName(row.author, props.me)}</span>
              {row.opened ? <Badge kind='ok'>readable</Badge> : <Badge kind='muted'>not readable</Badge>}
            </div>
            <p data-testid='why-reason'>{reasonText(row.reason)}</p>
            {row.opened !== row.expected && (
              <Notice kind='warn' testId='why-mismatch'>
                {row.opened
                  ? 'The node opened this exam although the consent entries do not explain it. Tell your administrator.'
                  : 'The node could not open this exam although the consent entries allow it ' +
                    '(our institution may be suspended, or the record is still arriving).'}
              </Notice>
            )}
          </li>
        ))}
      </ul>
    </>
  )
}

/**
 * The node's own audit log, for its staff: every login, read and write,
 * who, from where, and the result; refusals in red with their code.
 */
import type { JSX } from 'preact'
import { useState } from 'preact/hooks'
import { auditLog } from '../node-api.js'
import type { Session } from '../session.js'
import { useAsync } from '../ui/async.js'
import { Badge, Card, Loaded, formatDateTime } from '../ui/components.js'

export function AuditLogScreen (props: { session: Session }): JSX.Element {
  const [limit, setLimit] = useState(100)
  const state = useAsync(async () => await auditLog(props.session.token, { limit }), [props.session.token, limit])
  return (
    <Card title={`Audit log of ${props.session.node.name}`} testId='audit-log'>
      <p class='muted'>Every sign-in, read and write this node answered, newest first. Only this node's staff can see it.</p>
      <Loaded state={state} what='the audit log'>
        {(reply) => (
          <>
            <div class='table-wrap'>
              <table>
                <thead><tr><th>#</th><th>time</th><th>who</th><th>did</th><th>on</th><th>result</th><th>from</th></tr></thead>
                <tbody>
                  {[...reply.lines].reverse().map((line) => (
                    <tr key={line.seq} class={line.result === 'granted' ? '' : 'refused'}>
                      <td>{line.seq}</td>
                      <td>{formatDateTime(line.time)}</td>
                      <td><code class='id'>{line.actor}</code>{line.role !== undefined && <span class='muted'> ({line.role})</span>}</td>
                      <td>{line.action}</td>
                      <td><code class='id'>{line.target ?? ''}</code></td>
                      <td>
                        {line.result === 'granted' ? <Badge kind='ok'>granted</Badge> : <Badge kind='bad'>{line.result}{line.code === undefined ? '' : ` ${line.code}`}</Badge>}
                        {line.count !== undefined && <span class='muted'> ×{line.count}</span>}
                      </td>
                      <td class='muted'>{line.from}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
            <p class='muted'>{reply.lines.length} of {reply.length} lines.</p>
            {reply.lines.length < reply.length && <button type='button' class='secondary' onClick={() => setLimit((n) => Math.min(n * 5, 1000))}>Show more</button>}
          </>
        )}
      </Loaded>
    </Card>
  )
}

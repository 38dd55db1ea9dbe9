/** Regulator auditors: the network, forks, cosigned heads, chain verification. */
import type { Party } from '../party.js'
import { NetworkScreen } from './network.js'
import { RoleRefusal, otherPartyOf } from './role-refusal.js'
import { VerifyScreen } from './verify.js'

export const auditor: Party = {
  title: 'Regulator',
  nav: [{ route: '/auditor', label: 'Network' }, { route: '/auditor/verify', label: 'Verify a chain' }],
  screen: (route, session) => {
    if (route === '/auditor/verify' || route.startsWith('/auditor/verify/')) return <VerifyScreen session={session} route={route} />
    if (route === '/auditor') return <NetworkScreen session={session} />
    const other = otherPartyOf(route, '/auditor')
    return other === undefined ? null : <RoleRefusal session={session} who={other} home='/auditor' />
  }
}

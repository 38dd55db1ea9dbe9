/**
 * The source a refusal is counted under (audit-aggregator.ts): who sent it,
 * as far as a flood can be told apart. An HTTP client's address, with an
 * IPv6 address reduced to its /64 — one subscriber's share, which the rate
 * limiter also counts as one source (@fastify/rate-limit's normalizeIP, so
 * both agree); a libp2p connection's host, without its port (each new
 * connection has another), as a multiaddr: `/ip4/10.1.2.3`, or
 * `/ip6/2001:db8:1:2::/ipcidr/64`. Peer ids are not part of it: anyone can
 * make a new one for every connection.
 */
import { normalizeIP } from '@fastify/rate-limit'
import { isIPv6 } from 'node:net'
import { multiaddr } from '@multiformats/multiaddr'

const IPV6_SOURCE_BITS = 64

/** The source `from` (an audit line's remote address) is counted under. */
export function auditSourceOf (from: string): string {
  return from.startsWith('/') ? hostOfMultiaddr(from) : ipSource(from)
}

function ipSource (ip: string): string {
  if (!isIPv6(ip)) return ip
  const normal = normalizeIP(ip, IPV6_SOURCE_BITS)
  // An IPv4 address mapped into IPv6 comes back as IPv4: one host, no prefix.
  return isIPv6(normal) ? `${normal}/${IPV6_SOURCE_BITS}` : normal
}

function hostOfMultiaddr (from: string): string {
  let first: { name: string, value?: string } | undefined
  try {
    first = multiaddr(from).getComponents()[0]
  } catch {
    return from
  }
  if (first?.value === undefined) return from
  if (first.name === 'ip6') {
    const source = ipSource(first.value)
    if (source.endsWith(`/${IPV6_SOURCE_BITS}`)) return `/ip6/${source.slice(0, -`/${IPV6_SOURCE_BITS}`.length)}/ipcidr/${IPV6_SOURCE_BITS}`
    return `/ip4/${source}`
  }
  return `/${first.name}/${first.value}`
}

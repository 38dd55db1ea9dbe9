/**
 * Headers every answer of the node carries, the API's as much as the web
 * console's: the console is served from the API's own origin, so one set
 * keeps both safe, and an API answer opened in a browser tab is inert too.
 *
 * The Content-Security-Policy allows only this origin: scripts, styles,
 * images (plus data: and blob: URLs the console makes itself, such as a
 * chart exported as an image), fetches, the web manifest and workers. No
 * inline script or style, no CDN, no external font, no framing, no form
 * posting elsewhere: a patient's keys and decrypted data live in that page,
 * and nothing may carry them to another origin.
 */
import type { App } from './types.js'

/** The console's (and every answer's) Content-Security-Policy; the browser tests assert the page runs under exactly this. */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "worker-src 'self'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'"
].join('; ')

/** Every answer's security headers, by lower-case name. */
export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'content-security-policy': CONTENT_SECURITY_POLICY,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'permissions-policy': 'camera=(), microphone=(), geolocation=()'
})

/** The headers as raw HTTP lines, for the answers written straight to a socket (http/errors.ts handleClientError). */
export function securityHeaderLines (): string {
  return Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`).join('')
}

/** Sets the headers on a reply (also used by the handler of errors raised before routing, where no hook runs). */
export function applySecurityHeaders (reply: { header: (name: string, value: string) => unknown }): void {
  for (const [name, value] of Object.entries(SECURITY_HEADERS)) reply.header(name, value)
}

/** Adds the headers to every answer, first of all, so refusals (rate limit, token, 404) carry them too. */
export function installSecurityHeaders (app: App): void {
  app.addHook('onRequest', async (_request, reply) => { applySecurityHeaders(reply) })
}

import type { IncomingHttpHeaders } from 'node:http';

const LOOPBACK = /^(?:127\.\d{1,3}\.\d{1,3}\.\d{1,3}|::1|::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3})$/;

/** Methods that change nothing: they need no CSRF token and no same-site origin. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

/** Whether a request came from this machine. */
export function isLoopback(address: string | undefined): boolean {
  return address !== undefined && LOOPBACK.test(address);
}

/**
 * Why a browser's request from another site must not write here, or null. Any web page the operator
 * opens can send simple POSTs to localhost; browsers say where they come from (Origin,
 * Sec-Fetch-Site), other clients (Alertmanager, curl, the CLI) send neither.
 */
export function crossSiteRefusal(
  headers: IncomingHttpHeaders | Record<string, string | undefined>,
): string | null {
  const site = headers['sec-fetch-site'];
  if (typeof site === 'string' && site !== 'same-origin' && site !== 'none')
    return `cross-site request refused (Sec-Fetch-Site: ${site})`;
  const origin = headers.origin;
  if (typeof origin !== 'string' || origin === '') return null;
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'cross-site request refused (unreadable Origin)';
  }
  return host === headers.host ? null : `cross-site request refused (Origin: ${origin.slice(0, 200)})`;
}

const LOOPBACK_HOST =
  /^(?:localhost|127\.\d{1,3}\.\d{1,3}\.\d{1,3}|\[::1\]|\[::ffff:127\.\d{1,3}\.\d{1,3}\.\d{1,3}\])(?::\d{1,5})?$/i;

/**
 * Why a request must not be answered without tokens, or null. Without tokens only this machine may
 * use Hermes, and a checked peer address is not enough: a DNS-rebinding page (evil.example resolved
 * to 127.0.0.1) is same-origin with itself, so its browser's requests come from here. They carry the
 * page's name in `Host`, which must be a loopback name or address.
 */
export function loopbackHostRefusal(host: string | undefined): string | null {
  if (host !== undefined && LOOPBACK_HOST.test(host)) return null;
  const shown = host === undefined ? '(none)' : JSON.stringify(host.slice(0, 100)).slice(1, -1);
  return `Host ${shown} is not this machine: without tokens only localhost may be used`;
}

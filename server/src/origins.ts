/**
 * Which web pages may use the API from a browser (`ZEUS_ALLOWED_ORIGINS`). Pure.
 *
 * WebSockets are not covered by CORS: a page on any site can open one to Zeus, with the user's
 * network position. So the upgrade's `Origin` is checked here: the page's own origin (the host
 * it asked for) and the configured origins may connect; clients that send no `Origin` (the CLI,
 * curl, servers) are not browsers and may connect too. CORS headers go only to configured
 * origins; the same origin needs none.
 */

/** Reads `ZEUS_ALLOWED_ORIGINS`: comma-separated `scheme://host[:port]`. Throws with the problem. */
export function parseAllowedOrigins(text: string): string[] {
  const origins: string[] = [];
  for (const entry of text.split(',').map((item) => item.trim())) {
    if (entry === '') continue;
    let url: URL;
    try {
      url = new URL(entry);
    } catch {
      throw new Error(`"${entry}" is not an origin such as https://app.example.com`);
    }
    if ((url.protocol !== 'http:' && url.protocol !== 'https:') || url.origin !== entry) {
      throw new Error(
        `"${entry}" is not an origin such as https://app.example.com (scheme, host and ` +
          'port only, no path or trailing slash)',
      );
    }
    origins.push(url.origin);
  }
  return origins;
}

/** `host[:port]` with the scheme's default port left out, or null when it cannot be read. */
function hostOf(scheme: 'http:' | 'https:', host: string): string | null {
  try {
    return new URL(`${scheme}//${host}`).host.toLowerCase();
  } catch {
    return null;
  }
}

/**
 * True when a WebSocket upgrade with this `Origin` may connect: no origin (not a browser), the
 * page's own origin (same host and port as the `Host` the request was sent to), or a configured
 * origin.
 */
export function isAllowedWebSocketOrigin(
  origin: string | undefined,
  host: string | undefined,
  allowed: readonly string[],
): boolean {
  if (origin === undefined) return true;
  let url: URL;
  try {
    url = new URL(origin);
  } catch {
    return false;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
  if (allowed.includes(url.origin)) return true;
  if (host === undefined) return false;
  return url.host.toLowerCase() === hostOf(url.protocol, host);
}

/**
 * Who is asking, for every transport alike: the client's address (X-Forwarded-For believed only
 * from a trusted proxy, `ZEUS_TRUSTED_PROXIES`: Caddy) and the API key the request carries,
 * checked against `ZEUS_API_KEYS` (auth.ts). HTTP routes and the WebSocket's `onConnect` ask
 * here, so a request's identity is decided in one place.
 */
import type { IncomingMessage } from 'node:http';
import proxyAddr from 'proxy-addr';
import {
  checkKey,
  keyFromConnectionParams,
  keyFromHeaders,
  requireKey,
  type ApiKeyRing,
  type Caller,
} from './auth.ts';

/** A caller identified, or why its key was refused. */
export type CallerCheck =
  { readonly ok: true; readonly caller: Caller } | { readonly ok: false; readonly message: string };

export class Callers {
  /** Whether an address is a trusted proxy's (`proxy-addr`'s compiled `ZEUS_TRUSTED_PROXIES`). */
  readonly trustProxy: (address: string, hop: number) => boolean;

  constructor(
    private readonly apiKeys: ApiKeyRing,
    trustedProxies: readonly string[],
    options: {
      /** `ZEUS_API_SOCKET` is set: requests come through a Unix socket. */
      readonly onSocket: boolean;
    },
  ) {
    const listed = proxyAddr.compile([...trustedProxies]);
    // On a Unix socket the peer has no address, and only local processes allowed to open the
    // socket file (Caddy, in local mode) can connect: it is trusted like a listed proxy.
    this.trustProxy = options.onSocket
      ? (address, hop) => hop === 0 || listed(address, hop)
      : listed;
  }

  /**
   * The client's address: the socket's peer, or the address a trusted proxy forwarded (the same
   * rule as Express's `trust proxy`).
   */
  address(request: IncomingMessage): string {
    // Undefined, whatever its type says, for a request on a Unix socket without X-Forwarded-For.
    const address: unknown = proxyAddr(request, this.trustProxy);
    return typeof address === 'string' ? address : 'unknown';
  }

  /**
   * An HTTP request's caller, from its `Authorization` or `X-Api-Key` header. `keyRequired`:
   * with keys on, a request without one is refused too (routes that store a tenant's data
   * outside GraphQL, where no resolver asks for a key: `POST /uploads`).
   */
  ofHttpRequest(
    request: IncomingMessage,
    options: { readonly keyRequired?: boolean } = {},
  ): CallerCheck {
    return this.check(keyFromHeaders(request.headers), request, options.keyRequired === true);
  }

  /**
   * A WebSocket's caller, from its `connection_init` parameters or else the upgrade request's
   * headers.
   */
  ofWebSocket(connectionParams: unknown, request: IncomingMessage): CallerCheck {
    return this.check(
      keyFromConnectionParams(connectionParams) ?? keyFromHeaders(request.headers),
      request,
      false,
    );
  }

  private check(
    presented: string | undefined,
    request: IncomingMessage,
    keyRequired: boolean,
  ): CallerCheck {
    const check = (keyRequired ? requireKey : checkKey)(this.apiKeys, presented);
    if (!check.ok) return check;
    return { ok: true, caller: { keyName: check.keyName, address: this.address(request) } };
  }
}

/** The caller of a request that reached a resolver without one (never expected). */
export const UNKNOWN_CALLER: Caller = { keyName: null, address: 'unknown' };

/** Which API server, behind Caddy, holds a client's WebSocket. */
import { fetchVia } from '../../deploy/endpoints.ts';
import type { LocalStack } from '../../deploy/local-stack.ts';

const POLL_MS = 100;

/**
 * The API server (process name) that holds the one open WebSocket through Caddy: Caddy counts a
 * proxied WebSocket as a request in flight until it closes. Polls Caddy's admin API (there is no
 * event to wait on) until exactly one upstream has exactly one request in flight: short HTTP
 * requests come and go around the long-lived socket.
 */
export async function serverHoldingTheWebSocket(
  stack: LocalStack,
  timeoutMs = 10_000,
): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  let seen = '';
  while (Date.now() < deadline) {
    const response = await fetchVia(stack.caddyAdminAddress, '/reverse_proxy/upstreams');
    const upstreams = (await response.json()) as { address: string; num_requests: number }[];
    seen = JSON.stringify(upstreams);
    const busy = upstreams.filter((upstream) => upstream.num_requests > 0);
    const only = busy.length === 1 ? busy[0] : undefined;
    if (only?.num_requests === 1) {
      const name = Object.entries(stack.apiAddresses).find(
        ([, address]) => address === only.address,
      )?.[0];
      if (name !== undefined) return name;
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`No single API server holds the WebSocket: ${seen}`);
}

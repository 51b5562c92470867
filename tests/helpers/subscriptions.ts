/**
 * How many GraphQL subscriptions a stack's API servers have started, all together, from their
 * metrics (`zeus_graphql_operations_total`, a counter: it only grows, whatever else closes): a
 * test that starts a client it cannot otherwise observe waits for this to grow, instead of
 * guessing how long the client takes to start.
 */
import { fetchVia } from '../../deploy/endpoints.ts';
import type { LocalStack } from '../../deploy/local-stack.ts';

export async function subscriptionsStarted(
  stack: Pick<LocalStack, 'apiAddresses'>,
): Promise<number> {
  let total = 0;
  for (const address of Object.values(stack.apiAddresses)) {
    const text = await (await fetchVia(address, '/metrics')).text();
    for (const line of text.split('\n')) {
      if (
        !line.startsWith('zeus_graphql_operations_total{') ||
        !line.includes('type="subscription"')
      ) {
        continue;
      }
      total += Number(line.slice(line.lastIndexOf(' ') + 1));
    }
  }
  return total;
}

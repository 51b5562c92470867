import { afterEach, describe, expect, it, vi } from 'vitest';
import { firstScreenOperations, operationText } from '../boot-script.ts';
import { API_KEY_STORAGE_NAME, ApiKeyStore } from '../src/api/api-key.ts';
import { createZeusClient } from '../src/api/client.ts';
import {
  FIRST_ANSWER_MAX_AGE_MS,
  fetchWithFirstAnswers,
  firstAnswersArrived,
  sentRequestsOf,
} from '../src/api/first-answers.ts';
import { JOBS_QUERY, SYSTEM_QUERY } from '../src/api/operations.ts';
import { prefetchFirstScreen } from '../src/api/prefetch.ts';
import {
  bodyOf,
  firstRequestsFor,
  keyOfBody,
  postersOf,
  requestKey,
  SENT_REQUESTS_GLOBAL,
  type SentRequest,
} from '../src/boot/first-requests.ts';
import type { Route } from '../src/routing/routes.ts';
import { RefusedSocket } from './fixtures.ts';

afterEach(() => {
  vi.unstubAllGlobals();
});

const answer = (data: unknown): Response =>
  new Response(JSON.stringify({ data }), { headers: { 'content-type': 'application/json' } });

/** An answer that writes nothing to the cache (nor warns about what it lacks). */
const refusal = (): Response =>
  new Response(JSON.stringify({ errors: [{ message: 'not in this test' }] }), {
    headers: { 'content-type': 'application/json' },
  });

const keyStore = (key: string | null): ApiKeyStore => {
  const items = new Map(key === null ? [] : [[API_KEY_STORAGE_NAME, key]]);
  return new ApiKeyStore({
    getItem: (name) => items.get(name) ?? null,
    setItem: (name, value) => items.set(name, value),
    removeItem: (name) => items.delete(name),
  });
};

describe("the boot script's requests", () => {
  const routes: Route[] = [{ page: 'home' }, { page: 'job', id: 'job-7' }];

  it.each(routes.flatMap((route) => [null, 'alice-key'].map((key) => ({ route, key }))))(
    'are the ones the app sends for the first screen ($route.page, key $key)',
    async ({ route, key }) => {
      vi.stubGlobal('WebSocket', RefusedSocket);
      const sentByApp: (string | null)[] = [];
      const zeus = createZeusClient({
        httpUrl: 'http://zeus.test/graphql',
        wsUrl: 'ws://zeus.test/graphql',
        apiKeys: keyStore(key),
        fetch: (_input, init) => {
          sentByApp.push(keyOfBody(init?.body, new Headers(init?.headers).get('authorization')));
          return Promise.resolve(refusal());
        },
      });
      try {
        await prefetchFirstScreen(zeus.apollo, route);
      } finally {
        await zeus.dispose().catch(() => undefined);
      }
      const authorization = key === null ? null : `Bearer ${key}`;
      const sentByBoot = firstRequestsFor(route, firstScreenOperations()).map((request) =>
        keyOfBody(bodyOf(request), authorization),
      );
      expect(sentByBoot).toEqual(
        firstRequestsFor(route, firstScreenOperations()).map((request) =>
          requestKey(request, authorization),
        ),
      );
      expect(sentByApp).toEqual(sentByBoot);
      expect(sentByApp).toHaveLength(route.page === 'home' ? 4 : 3);
    },
  );

  it('ask for the list, then the header and form, and the workers, or for the one job', () => {
    const names = (route: Route): string[] =>
      firstRequestsFor(route, firstScreenOperations()).map((request) => {
        return `${request.operation.operationName} ${JSON.stringify(request.variables)}`;
      });
    expect(names({ page: 'home' })).toEqual([
      'Jobs {"first":12}',
      'ModelRules {}',
      'System {}',
      'Workers {}',
    ]);
    expect(names({ page: 'job', id: 'j/1' })).toEqual([
      'Job {"id":"j/1"}',
      'ModelRules {}',
      'System {}',
    ]);
    expect(names({ page: 'not-found', path: '/x' })).toEqual(['ModelRules {}', 'System {}']);
  });

  it('are printed as Apollo sends them, typenames included', () => {
    const jobs = operationText(JOBS_QUERY);
    expect(jobs.operationName).toBe('Jobs');
    expect(jobs.query).toContain('__typename');
    expect(jobs.query).toContain('fragment JobFields on Job');
    expect(() => operationText({ kind: 'Document', definitions: [] } as never)).toThrow(
      /no operation name/,
    );
  });
});

describe('requestKey and keyOfBody', () => {
  const jobs = operationText(JOBS_QUERY);

  it('match whatever order the variables are in, and not other variables or keys', () => {
    const body = (variables: Record<string, unknown>, extensions?: unknown): string =>
      JSON.stringify({ operationName: 'Jobs', variables, extensions, query: jobs.query });
    const key = requestKey({ operation: jobs, variables: { first: 12, after: 'c' } }, null);
    expect(keyOfBody(body({ after: 'c', first: 12 }, { clientLibrary: {} }), null)).toBe(key);
    expect(keyOfBody(body({ first: 12, after: 'd' }), null)).not.toBe(key);
    expect(keyOfBody(body({ first: 12, after: 'c' }), 'Bearer k')).not.toBe(key);
  });

  it('know no key for what is not a GraphQL request body', () => {
    expect(keyOfBody(undefined, null)).toBeNull();
    expect(keyOfBody('not json', null)).toBeNull();
    expect(keyOfBody('"a string"', null)).toBeNull();
    expect(keyOfBody(JSON.stringify({ query: '{ a }' }), null)).toBeNull();
    expect(keyOfBody(new Blob(['{}']), null)).toBeNull();
  });
});

describe('fetchWithFirstAnswers', () => {
  const jobsRequest = {
    operation: operationText(JOBS_QUERY),
    variables: { first: 12 },
  };
  const sentJobs = (response: Promise<Response>, sentAt = 0): SentRequest => ({
    key: requestKey(jobsRequest, null),
    sentAt,
    response,
    done: true,
  });
  const init = (body: string, headers: Record<string, string> = {}): RequestInit => ({
    method: 'POST',
    body,
    headers,
  });

  it('answers the request the boot script sent with its answer, once', async () => {
    const network = vi.fn(() => Promise.resolve(answer('network')));
    const fetchFirst = fetchWithFirstAnswers(
      [sentJobs(Promise.resolve(answer('boot')))],
      network,
      () => 100,
    );
    const first = await fetchFirst('/graphql', init(bodyOf(jobsRequest)));
    expect(await first.json()).toEqual({ data: 'boot' });
    expect(network).not.toHaveBeenCalled();
    const again = await fetchFirst('/graphql', init(bodyOf(jobsRequest)));
    expect(await again.json()).toEqual({ data: 'network' });
    expect(network).toHaveBeenCalledTimes(1);
  });

  it('sends everything else: other requests, other keys, failed or old answers', async () => {
    const network = vi.fn(() => Promise.resolve(answer('network')));
    const viaNetwork = async (
      sent: SentRequest,
      request: RequestInit,
      now = 0,
    ): Promise<unknown> => {
      const response = await fetchWithFirstAnswers([sent], network, () => now)('/graphql', request);
      return response.json();
    };
    const boot = (): Promise<Response> => Promise.resolve(answer('boot'));
    const other = bodyOf({ ...jobsRequest, variables: { first: 12, search: 'fox' } });
    expect(await viaNetwork(sentJobs(boot()), init(other))).toEqual({ data: 'network' });
    expect(
      await viaNetwork(sentJobs(boot()), init(bodyOf(jobsRequest), { authorization: 'Bearer k' })),
    ).toEqual({ data: 'network' });
    expect(
      await viaNetwork(sentJobs(Promise.reject(new Error('refused'))), init(bodyOf(jobsRequest))),
    ).toEqual({ data: 'network' });
    expect(
      await viaNetwork(
        sentJobs(boot(), 1_000),
        init(bodyOf(jobsRequest)),
        1_000 + FIRST_ANSWER_MAX_AGE_MS + 1,
      ),
    ).toEqual({ data: 'network' });
    expect(await viaNetwork(sentJobs(boot()), { method: 'GET' })).toEqual({ data: 'network' });
    expect(network).toHaveBeenCalledTimes(5);
  });

  it('puts the answers in the cache through the app client, as its own requests would', async () => {
    vi.stubGlobal('WebSocket', RefusedSocket);
    const network = vi.fn(() => Promise.reject(new Error('no network in this test')));
    const system = {
      system: {
        __typename: 'SystemStatus',
        queueLength: 0,
        maxQueued: 10,
        running: 0,
        workersOnline: 1,
        modelReady: true,
        model: 'tiny-random',
        maxUploadBytes: 1,
        maxBatch: 4,
        retentionSeconds: null,
        modelStatus: { __typename: 'ModelStatus', state: 'READY', message: 'ok', progress: null },
      },
    };
    const request = { operation: operationText(SYSTEM_QUERY), variables: {} };
    const sent: SentRequest = {
      key: requestKey(request, null),
      sentAt: 0,
      response: Promise.resolve(answer(system)),
      done: true,
    };
    const zeus = createZeusClient({
      httpUrl: 'http://zeus.test/graphql',
      wsUrl: 'ws://zeus.test/graphql',
      fetch: fetchWithFirstAnswers([sent], network, () => 0),
    });
    try {
      const result = await zeus.apollo.query({ query: SYSTEM_QUERY });
      expect(result.data).toEqual(system);
      expect(zeus.apollo.readQuery({ query: SYSTEM_QUERY })).toEqual(system);
      expect(network).not.toHaveBeenCalled();
    } finally {
      await zeus.dispose().catch(() => undefined);
    }
  });
});

describe('what the boot script leaves on the page', () => {
  it('is read from the window, or nothing where it did not run', () => {
    const sent: SentRequest[] = [
      { key: 'k', sentAt: 0, response: Promise.resolve(answer(null)), done: false },
    ];
    expect(sentRequestsOf({ [SENT_REQUESTS_GLOBAL]: sent })).toBe(sent);
    expect(sentRequestsOf({})).toEqual([]);
    expect(sentRequestsOf({ [SENT_REQUESTS_GLOBAL]: 'broken' })).toEqual([]);
  });

  it('says the first answers are all here only when every one is', () => {
    const request = (done: boolean): SentRequest => ({
      key: 'k',
      sentAt: 0,
      response: Promise.resolve(answer(null)),
      done,
    });
    expect(firstAnswersArrived([])).toBe(false);
    expect(firstAnswersArrived([request(true), request(false)])).toBe(false);
    expect(firstAnswersArrived([request(true), request(true)])).toBe(true);
  });
});

describe('postersOf', () => {
  it("lists the posters of the list's first page, or of one job", () => {
    const node = (posterUrl: string | null) => ({ node: { posterUrl } });
    expect(
      postersOf({
        data: { jobs: { edges: [node('/g/1/poster.jpg'), node(null), node('/g/3/p')] } },
      }),
    ).toEqual(['/g/1/poster.jpg', '/g/3/p']);
    expect(postersOf({ data: { job: { posterUrl: '/g/7/poster.jpg' } } })).toEqual([
      '/g/7/poster.jpg',
    ]);
    expect(postersOf({ data: { job: null } })).toEqual([]);
    expect(postersOf({ errors: [{ message: 'no' }] })).toEqual([]);
    expect(postersOf(null)).toEqual([]);
  });
});

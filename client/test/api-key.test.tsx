// @vitest-environment happy-dom
import { cleanup, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  API_KEY_STORAGE_NAME,
  ApiKeyStore,
  saysUnauthenticated,
  type KeyStorage,
} from '../src/api/api-key.ts';
import { createZeusClient } from '../src/api/client.ts';
import { SYSTEM_QUERY } from '../src/api/operations.ts';
import { ApiKeyContext, ApiKeyPrompt } from '../src/components/ApiKeyPrompt.tsx';
import { RefusedSocket } from './fixtures.ts';

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function memoryStorage(initial: Record<string, string> = {}): KeyStorage & {
  readonly items: Map<string, string>;
} {
  const items = new Map(Object.entries(initial));
  return {
    items,
    getItem: (name) => items.get(name) ?? null,
    setItem: (name, value) => {
      items.set(name, value);
    },
    removeItem: (name) => {
      items.delete(name);
    },
  };
}

describe('ApiKeyStore', () => {
  it('keeps the key in storage, trimmed, and forgets it', () => {
    const storage = memoryStorage({ [API_KEY_STORAGE_NAME]: ' stored-key ' });
    const store = new ApiKeyStore(storage);
    expect(store.key).toBe('stored-key');
    store.set('  new-key-0123456789 ');
    expect(store.key).toBe('new-key-0123456789');
    expect(storage.items.get(API_KEY_STORAGE_NAME)).toBe('new-key-0123456789');
    store.set(null);
    expect(store.key).toBeNull();
    expect(storage.items.has(API_KEY_STORAGE_NAME)).toBe(false);
  });

  it('asks for a key when Zeus refuses, saying whether one was sent, until one is entered', () => {
    const store = new ApiKeyStore(memoryStorage());
    const changes = vi.fn();
    store.subscribe(changes);
    expect(store.request).toBeNull();
    store.refusedByServer();
    expect(store.request).toBe('needed');
    store.refusedByServer();
    expect(changes).toHaveBeenCalledTimes(1);
    store.set('a-key-0123456789abcd');
    expect(store.request).toBeNull();
    store.refusedByServer();
    expect(store.request).toBe('refused');
  });

  it('works without storage, and when storage throws', () => {
    const throwing: KeyStorage = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => undefined,
    };
    const store = new ApiKeyStore(throwing);
    expect(store.key).toBeNull();
    store.set('kept-for-the-page');
    expect(store.key).toBe('kept-for-the-page');
    expect(new ApiKeyStore(null).key).toBeNull();
  });

  it('recognises UNAUTHENTICATED among GraphQL errors', () => {
    expect(saysUnauthenticated([{ extensions: { code: 'UNAUTHENTICATED' } }])).toBe(true);
    expect(saysUnauthenticated([{ extensions: { code: 'FORBIDDEN' } }, {}])).toBe(false);
  });
});

describe('ApiKeyPrompt', () => {
  it('shows only when Zeus asked, and keeps the key the user enters', async () => {
    const storage = memoryStorage();
    const store = new ApiKeyStore(storage);
    render(
      <ApiKeyContext.Provider value={store}>
        <ApiKeyPrompt />
      </ApiKeyContext.Provider>,
    );
    expect(screen.queryByRole('heading')).toBeNull();

    store.refusedByServer();
    expect(
      await screen.findByRole('heading', { name: 'This Zeus needs an API key' }),
    ).toBeDefined();
    const field = screen.getByLabelText('API key');
    expect(document.activeElement).toBe(field);
    const save = screen.getByRole('button', { name: 'Use this key' });
    expect((save as HTMLButtonElement).disabled).toBe(true);
    await userEvent.type(field, 'alice-0123456789abcdef');
    await userEvent.click(save);
    expect(store.key).toBe('alice-0123456789abcdef');
    expect(storage.items.get(API_KEY_STORAGE_NAME)).toBe('alice-0123456789abcdef');
    expect(screen.queryByRole('heading')).toBeNull();

    store.refusedByServer();
    expect(
      await screen.findByRole('heading', { name: 'That API key was not accepted' }),
    ).toBeDefined();
  });
});

describe('the app client and the key', () => {
  it('sends the key on HTTP and asks for one when Zeus answers UNAUTHENTICATED', async () => {
    const sent: (string | null)[] = [];
    vi.stubGlobal(
      'fetch',
      vi.fn((_url: string, init: RequestInit) => {
        sent.push(new Headers(init.headers).get('authorization'));
        const body = JSON.stringify({
          data: null,
          errors: [{ message: 'needs a key', extensions: { code: 'UNAUTHENTICATED' } }],
        });
        return Promise.resolve(
          new Response(body, { status: 200, headers: { 'content-type': 'application/json' } }),
        );
      }),
    );
    // The WebSocket the client opens at once, unused here: refused, and retried in the
    // background (a unit test opens no socket).
    vi.stubGlobal('WebSocket', RefusedSocket);
    const store = new ApiKeyStore(memoryStorage());
    const zeus = createZeusClient({
      httpUrl: 'http://zeus.test/graphql',
      wsUrl: 'ws://zeus.test/graphql',
      apiKeys: store,
    });
    try {
      await zeus.apollo
        .query({ query: SYSTEM_QUERY, fetchPolicy: 'network-only' })
        .catch(() => null);
      expect(store.request).toBe('needed');
      expect(sent).toEqual([null]);
      store.set('alice-0123456789abcdef');
      await zeus.apollo
        .query({ query: SYSTEM_QUERY, fetchPolicy: 'network-only' })
        .catch(() => null);
      expect(sent.at(-1)).toBe('Bearer alice-0123456789abcdef');
      expect(store.request).toBe('refused');
    } finally {
      // The socket never connected: disposing reports its last close, which is expected here.
      await zeus.dispose().catch(() => undefined);
    }
  });
});

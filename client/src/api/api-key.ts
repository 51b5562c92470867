/**
 * The API key the app sends when Zeus is run with `ZEUS_API_KEYS`: asked for once, kept in the
 * browser's local storage, sent on every HTTP request (`Authorization: Bearer`) and in the
 * WebSocket's connection parameters. When Zeus says the key is missing or wrong, the app asks
 * for it again. Without keys on the server, nothing here is ever used.
 */

/** Why the app is asking for a key, or null when it is not. */
export type KeyRequest =
  /** Zeus needs a key and the app has none. */
  | 'needed'
  /** Zeus refused the key the app sent. */
  | 'refused'
  | null;

/** The part of `Storage` used: `localStorage` in the browser, a map in tests. */
export type KeyStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

export const API_KEY_STORAGE_NAME = 'zeus.apiKey';

type Listener = () => void;

export class ApiKeyStore {
  #key: string | null;
  #request: KeyRequest = null;
  readonly #listeners = new Set<Listener>();

  /** `storage` null: the browser refuses storage (private mode); the key lasts for the page. */
  constructor(private readonly storage: KeyStorage | null) {
    this.#key = storedApiKey(storage);
  }

  get key(): string | null {
    return this.#key;
  }

  get request(): KeyRequest {
    return this.#request;
  }

  /** Keeps a key the user entered (trimmed), or forgets it with null, and stops asking. */
  set(key: string | null): void {
    const value = key?.trim() ?? '';
    this.#key = value === '' ? null : value;
    try {
      if (this.#key === null) this.storage?.removeItem(API_KEY_STORAGE_NAME);
      else this.storage?.setItem(API_KEY_STORAGE_NAME, this.#key);
    } catch {
      // Storage full or forbidden: the key still works until the page is closed.
    }
    this.#request = null;
    this.#notify();
  }

  /** Zeus said UNAUTHENTICATED (or closed the WebSocket on the key): ask the user. */
  refusedByServer(): void {
    const request: KeyRequest = this.#key === null ? 'needed' : 'refused';
    if (request === this.#request) return;
    this.#request = request;
    this.#notify();
  }

  /** Calls `listener` on every change; returns the function that stops it. */
  subscribe(listener: Listener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #notify(): void {
    for (const listener of this.#listeners) listener();
  }
}

/** The key kept in `storage` (trimmed), or null when there is none or storage is refused. */
export function storedApiKey(storage: KeyStorage | null): string | null {
  try {
    const value = storage?.getItem(API_KEY_STORAGE_NAME) ?? null;
    return value === null || value.trim() === '' ? null : value.trim();
  } catch {
    return null;
  }
}

/** The page's local storage, or null where the browser forbids it. */
export function browserKeyStorage(): KeyStorage | null {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/** True for a GraphQL error list that says the key is missing or wrong. */
export function saysUnauthenticated(
  errors: readonly { readonly extensions?: Readonly<Record<string, unknown>> | undefined }[],
): boolean {
  return errors.some((error) => error.extensions?.['code'] === 'UNAUTHENTICATED');
}

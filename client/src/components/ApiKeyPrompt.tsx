/**
 * Asks for the API key when Zeus says it needs one (or refused the one the app sent). Shown
 * only then: a Zeus without `ZEUS_API_KEYS` never asks.
 */
import {
  createContext,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
} from 'react';
import type { ApiKeyStore, KeyRequest } from '../api/api-key.ts';

export const ApiKeyContext = createContext<ApiKeyStore | null>(null);

const NO_STORE = (): (() => void) => () => undefined;

export function useKeyRequest(): KeyRequest {
  const store = useContext(ApiKeyContext);
  return useSyncExternalStore(
    (onChange) => (store === null ? NO_STORE() : store.subscribe(onChange)),
    () => store?.request ?? null,
  );
}

export function ApiKeyPrompt() {
  const store = useContext(ApiKeyContext);
  const request = useKeyRequest();
  const [draft, setDraft] = useState('');
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (request !== null) input.current?.focus();
  }, [request]);
  if (store === null || request === null) return null;

  return (
    <section className="panel" aria-labelledby="api-key-title">
      <h2 id="api-key-title">
        {request === 'refused' ? 'That API key was not accepted' : 'This Zeus needs an API key'}
      </h2>
      <p role="alert">
        {request === 'refused'
          ? 'Zeus refused the key this browser sent. Check it and enter it again.'
          : 'Submitting and following videos needs a key. Ask whoever runs this Zeus for one.'}{' '}
        It is kept in this browser only, and sent with every request.
      </p>
      <form
        className="prompt-form"
        onSubmit={(event) => {
          event.preventDefault();
          store.set(draft);
          setDraft('');
        }}
      >
        <div className="field">
          <label htmlFor="api-key">API key</label>
          <input
            id="api-key"
            ref={input}
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={draft}
            onChange={(event) => {
              setDraft(event.target.value);
            }}
          />
        </div>
        <div className="actions">
          <button type="submit" className="primary" disabled={draft.trim() === ''}>
            Use this key
          </button>
        </div>
      </form>
    </section>
  );
}

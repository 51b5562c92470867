/**
 * One polite live region for the whole page: screen readers hear that a job was queued, finished
 * or failed, without every progress tick being read out.
 */
import { createContext, useCallback, useContext, useState, type ReactNode } from 'react';

type Announce = (message: string) => void;

const AnnounceContext = createContext<Announce>(() => undefined);

export function useAnnounce(): Announce {
  return useContext(AnnounceContext);
}

export function AnnouncerProvider({ children }: { readonly children: ReactNode }) {
  const [message, setMessage] = useState({ text: '', key: 0 });
  const announce = useCallback((text: string) => {
    // A new key re-creates the text node, so the same message twice is read twice.
    setMessage((previous) => ({ text, key: previous.key + 1 }));
  }, []);
  return (
    <AnnounceContext.Provider value={announce}>
      {children}
      <div className="visually-hidden" role="status" aria-live="polite" aria-atomic="true">
        <span key={message.key}>{message.text}</span>
      </div>
    </AnnounceContext.Provider>
  );
}

/**
 * Moving between the app's pages with the browser's History API: `navigate` pushes a path, the
 * back and forward buttons pop one, and `useRoute` re-renders on either. Two pages do not need a
 * router library (nested routes, loaders, data APIs): this is the whole of it, and it adds no
 * bytes to the first visit. `Link` is a real link (open in a new tab, copy, middle-click all work)
 * that navigates in place on a plain click.
 */
import { useSyncExternalStore, type AnchorHTMLAttributes, type MouseEvent } from 'react';
import { routeOf, type Route } from './routes.ts';

/** Dispatched on `window` after `navigate` changed the path (pushState fires no event). */
const NAVIGATED = 'zeus:navigated';

export function navigate(path: string, options: { readonly replace?: boolean } = {}): void {
  if (path === window.location.pathname + window.location.search) return;
  if (options.replace === true) window.history.replaceState(null, '', path);
  else window.history.pushState(null, '', path);
  // A new page starts at its top, as a page load would.
  window.scrollTo(0, 0);
  window.dispatchEvent(new Event(NAVIGATED));
}

function subscribe(onChange: () => void): () => void {
  window.addEventListener('popstate', onChange);
  window.addEventListener(NAVIGATED, onChange);
  return () => {
    window.removeEventListener('popstate', onChange);
    window.removeEventListener(NAVIGATED, onChange);
  };
}

/** The current path; re-renders when it changes. */
export function usePathname(): string {
  return useSyncExternalStore(subscribe, () => window.location.pathname);
}

/** The page the current path names. */
export function useRoute(): Route {
  return routeOf(usePathname());
}

export interface LinkProps extends AnchorHTMLAttributes<HTMLAnchorElement> {
  readonly to: string;
}

export function Link({ to, onClick, ...rest }: LinkProps) {
  const follow = (event: MouseEvent<HTMLAnchorElement>): void => {
    onClick?.(event);
    // New tab, new window, download, a target: the browser's own business.
    if (
      event.defaultPrevented ||
      event.button !== 0 ||
      event.metaKey ||
      event.ctrlKey ||
      event.shiftKey ||
      event.altKey ||
      (rest.target !== undefined && rest.target !== '_self')
    ) {
      return;
    }
    event.preventDefault();
    navigate(to);
  };
  return <a href={to} onClick={follow} {...rest} />;
}

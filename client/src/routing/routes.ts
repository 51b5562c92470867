/**
 * The app's pages and their paths: the list at `/`, one job at `/jobs/<id>`. Caddy serves the
 * app's index page for any path that is not a file (the Caddyfile's `try_files`), so a reload or
 * a shared link to `/jobs/<id>` opens the app, which reads its path here. Pure.
 */

export type Route =
  | { readonly page: 'home' }
  | { readonly page: 'job'; readonly id: string }
  | { readonly page: 'not-found'; readonly path: string };

/** The path of a job's page. */
export function jobPath(id: string): string {
  return `/jobs/${encodeURIComponent(id)}`;
}

/** The page a path names; anything but `/` and `/jobs/<id>` is not a page of the app. */
export function routeOf(pathname: string): Route {
  if (pathname === '/' || pathname === '/index.html') return { page: 'home' };
  const job = /^\/jobs\/([^/]+)\/?$/.exec(pathname);
  if (job?.[1] !== undefined) {
    try {
      return { page: 'job', id: decodeURIComponent(job[1]) };
    } catch {
      // A malformed escape (`%E0%A4%A`): not a path this app made.
    }
  }
  return { page: 'not-found', path: pathname };
}

/**
 * What a first visit to the web app downloads, and a budget for it: its page (index.html, with
 * the boot script inlined in it), the `app` entry's script, every chunk it imports statically
 * (what index.html preloads), and their CSS, gzipped as Caddy sends them (`encode gzip` in the
 * Caddyfile). `vite build` prints it and fails when it is over the budget; docs/web-app.md says
 * why the budget is what it is. The playground's chunks are not part of it: they load on
 * /graphql only, and so are the app's own chunks that load later (a job's page). Sizes are
 * measured with zlib's default level.
 */
import { gzipSync } from 'node:zlib';
import type { Plugin } from 'vite';

/** The budget for a first visit's HTML, JS and CSS, gzipped (docs/web-app.md). */
export const FIRST_VISIT_BUDGET_BYTES = 180 * 1024;

/** What the plugin needs of a bundle: chunks with their static imports and CSS, and assets. */
export type BundleItems = Readonly<
  Record<
    string,
    | {
        readonly type: 'chunk';
        readonly fileName: string;
        readonly name: string;
        readonly isEntry: boolean;
        readonly imports: readonly string[];
        readonly code: string;
        readonly viteMetadata?: { readonly importedCss: ReadonlySet<string> } | undefined;
      }
    | { readonly type: 'asset'; readonly fileName: string; readonly source: string | Uint8Array }
  >
>;

export interface FirstVisit {
  readonly files: readonly { readonly fileName: string; readonly gzipBytes: number }[];
  readonly htmlBytes: number;
  readonly jsBytes: number;
  readonly cssBytes: number;
}

/** The files a first visit to `entry` (whose page is `page`) downloads, gzipped. */
export function firstVisit(bundle: BundleItems, entry: string, page?: string): FirstVisit {
  const chunks = Object.values(bundle).flatMap((item) => (item.type === 'chunk' ? [item] : []));
  const start = chunks.find((chunk) => chunk.isEntry && chunk.name === entry);
  if (start === undefined) throw new Error(`The bundle has no entry "${entry}".`);
  const scripts = new Set<string>();
  const styles = new Set<string>();
  const visit = (fileName: string): void => {
    if (scripts.has(fileName)) return;
    const chunk = chunks.find((candidate) => candidate.fileName === fileName);
    if (chunk === undefined) return;
    scripts.add(fileName);
    for (const css of chunk.viteMetadata?.importedCss ?? []) styles.add(css);
    for (const imported of chunk.imports) visit(imported);
  };
  visit(start.fileName);
  const contentOf = (fileName: string): string | Uint8Array => {
    const item = bundle[fileName];
    if (item === undefined) throw new Error(`The bundle has no file ${fileName}.`);
    return item.type === 'chunk' ? item.code : item.source;
  };
  if (page !== undefined && bundle[page] === undefined) {
    throw new Error(`The bundle has no page ${page}.`);
  }
  const files = [...(page === undefined ? [] : [page]), ...scripts, ...styles].map((fileName) => ({
    fileName,
    gzipBytes: gzipSync(contentOf(fileName)).length,
  }));
  const sum = (ending: string): number =>
    files
      .filter((file) => file.fileName.endsWith(ending))
      .reduce((total, file) => total + file.gzipBytes, 0);
  return { files, htmlBytes: sum('.html'), jsBytes: sum('.js'), cssBytes: sum('.css') };
}

const kilobytes = (bytes: number): string => `${(bytes / 1024).toFixed(1)} KB`;

/** One line for the build's output. */
export function describeFirstVisit(visit: FirstVisit, budgetBytes: number): string {
  return (
    `First visit downloads ${kilobytes(totalOf(visit))} gzipped (HTML ${kilobytes(visit.htmlBytes)}, ` +
    `JS ${kilobytes(visit.jsBytes)}, CSS ${kilobytes(visit.cssBytes)}, ${visit.files.length} ` +
    `files); budget ${kilobytes(budgetBytes)}.`
  );
}

const totalOf = (visit: FirstVisit): number => visit.htmlBytes + visit.jsBytes + visit.cssBytes;

/** Vite plugin: prints the first visit's size, and fails the build over `budgetBytes`. */
export function firstVisitBudget(
  entry: string,
  page: string,
  budgetBytes = FIRST_VISIT_BUDGET_BYTES,
): Plugin {
  return {
    name: 'zeus-first-visit-budget',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
      const visit = firstVisit(bundle, entry, page);
      const line = describeFirstVisit(visit, budgetBytes);
      if (totalOf(visit) > budgetBytes) {
        this.error(
          `${line} Over budget: ${visit.files.map((file) => `${file.fileName} ${kilobytes(file.gzipBytes)}`).join(', ')}.`,
        );
      }
      // Printed whatever Vite's log level: the build's one line about what users download.
      console.log(line);
    },
  };
}

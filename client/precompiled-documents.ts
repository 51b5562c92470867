/**
 * The app's GraphQL documents, parsed at build time: in the build, the modules that write them
 * with `gql` (src/api/operations.ts, src/api/workers.ts) become their documents as JSON, so the
 * browser neither downloads GraphQL's parser nor parses a dozen documents before the first
 * render (about a tenth of the app's start-up script time: docs/web-app.md, "The first screen").
 * The sources stay as they are for the editor, the tests and the dev server. Each document is
 * the one `gql` makes (fragments included, each once) without source locations, which nothing
 * in Apollo Client reads.
 */
import type { DocumentNode } from 'graphql';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import * as operations from './src/api/operations.ts';
import * as workers from './src/api/workers.ts';

/** The modules replaced, by path, with what they export at run time. */
const MODULES = new Map<string, Readonly<Record<string, unknown>>>([
  [fileURLToPath(new URL('src/api/operations.ts', import.meta.url)), operations],
  [fileURLToPath(new URL('src/api/workers.ts', import.meta.url)), workers],
]);

function isDocument(value: unknown): value is DocumentNode {
  return (
    typeof value === 'object' &&
    value !== null &&
    (value as { kind?: unknown }).kind === 'Document' &&
    Array.isArray((value as { definitions?: unknown }).definitions)
  );
}

/** `document` as JSON, without the `loc` (source location) of any node. */
export function documentJson(document: DocumentNode): string {
  return JSON.stringify(document, (key, value: unknown) => (key === 'loc' ? undefined : value));
}

/**
 * A module exporting the same values as `exports`: documents as JSON, strings and numbers as
 * they are. Anything else fails the build: it would need the module's own code.
 */
export function documentModuleCode(exports: Readonly<Record<string, unknown>>): string {
  return Object.entries(exports)
    .map(([name, value]) => {
      if (isDocument(value)) {
        // JSON.parse of one string is faster for V8 than an object literal of the same size.
        return `export const ${name} = /* @__PURE__ */ JSON.parse(${JSON.stringify(documentJson(value))});`;
      }
      if (typeof value === 'string' || typeof value === 'number') {
        return `export const ${name} = ${JSON.stringify(value)};`;
      }
      throw new Error(`Cannot precompile the export ${name}: not a document, string or number.`);
    })
    .join('\n');
}

/** Vite plugin (build only): loads the document modules as their precompiled documents. */
export function precompiledDocuments(): Plugin {
  return {
    name: 'zeus-precompiled-documents',
    apply: 'build',
    enforce: 'pre',
    load(id) {
      const exports = MODULES.get(id.split('?')[0] ?? id);
      return exports === undefined ? undefined : documentModuleCode(exports);
    },
  };
}

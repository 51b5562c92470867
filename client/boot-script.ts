/**
 * The boot script (src/boot/main.ts), bundled on its own by Rolldown (the bundler inside Vite) as
 * one minified function and inlined at the top of index.html's head: it sends the first screen's
 * requests while the browser is still fetching and compiling the app (docs/web-app.md, "The first
 * screen"). The GraphQL text it sends is printed here from the app's own documents
 * (src/api/first-screen.ts) as Apollo's HttpLink prints them, `__typename`s included, so the
 * app recognises the requests as its own (client/test/first-requests.test.ts checks that).
 */
import { addTypenameToDocument } from '@apollo/client/utilities';
import { Kind, print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import { fileURLToPath } from 'node:url';
import type { Plugin } from 'vite';
import { FIRST_SCREEN_DOCUMENTS } from './src/api/first-screen.ts';
import type { FirstScreen, OperationText } from './src/boot/first-requests.ts';

const ENTRY = fileURLToPath(new URL('src/boot/main.ts', import.meta.url));

/** A document as Apollo's HttpLink sends it: its operation's name, and its text with typenames. */
export function operationText(document: DocumentNode): OperationText {
  const operation = document.definitions.find(
    (definition): definition is OperationDefinitionNode =>
      definition.kind === Kind.OPERATION_DEFINITION,
  );
  const operationName = operation?.name?.value;
  if (operationName === undefined) throw new Error('A first-screen query has no operation name.');
  return { operationName, query: print(addTypenameToDocument(document)) };
}

/** The first screen's operations, as the boot script sends them. */
export function firstScreenOperations(): FirstScreen<OperationText> {
  const documents = FIRST_SCREEN_DOCUMENTS;
  return {
    jobs: operationText(documents.jobs),
    job: operationText(documents.job),
    modelRules: operationText(documents.modelRules),
    system: operationText(documents.system),
    workers: operationText(documents.workers),
  };
}

/** The boot script, as the code of one `<script>` element. */
export async function bundleBootScript(): Promise<string> {
  // Loaded here, not with the module: the unit tests of the functions above need no bundler.
  const { build } = await import('rolldown');
  const output = await build({
    input: ENTRY,
    platform: 'browser',
    write: false,
    logLevel: 'warn',
    transform: {
      define: { __ZEUS_FIRST_SCREEN__: JSON.stringify(firstScreenOperations()) },
    },
    output: { format: 'iife', minify: true },
  });
  const code = output.output[0].code.trim();
  // Inline in HTML, the text must not close its own element.
  if (/<\/script/i.test(code)) throw new Error('The boot script contains "</script".');
  return code;
}

/** Where index.html wants the boot script: early in its head, before any stylesheet. */
export const BOOT_SCRIPT_PLACEHOLDER = '<!-- zeus:boot-script -->';

/**
 * Vite plugin: puts the boot script in place of the placeholder in index.html (the playground
 * has none). Before any stylesheet, which a classic script would wait for.
 */
export function bootScript(page = 'index.html'): Plugin {
  return {
    name: 'zeus-boot-script',
    async transformIndexHtml(html, context) {
      if (!context.filename.endsWith(`/${page}`)) return undefined;
      if (!html.includes(BOOT_SCRIPT_PLACEHOLDER)) {
        throw new Error(`${page} has no ${BOOT_SCRIPT_PLACEHOLDER} for the boot script.`);
      }
      const code = await bundleBootScript();
      return html.replace(BOOT_SCRIPT_PLACEHOLDER, () => `<script>${code}</script>`);
    },
  };
}

/**
 * The documentation's API examples, as a user copies them: every fenced block right after a
 * `<!-- tested: api-example <name> -->` comment, in README.md or any page under docs/, by name.
 * The e2e test runs them against a real stack, changing only the address and the placeholders
 * the pages write as `<job-id>`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, sep } from 'node:path';
import { Kind, parse, type SelectionSetNode } from 'graphql';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';

export interface ReadmeExample {
  readonly name: string;
  /** The fence's language: `sh` or `js`. */
  readonly language: string;
  readonly code: string;
  /** The page it is on, relative to the repository root (`docs/api/README.md`). */
  readonly page: string;
}

export interface DocumentationPage {
  /** Relative to the repository root, with `/` between folders. */
  readonly path: string;
  readonly markdown: string;
}

/** README.md, then every Markdown page under docs/ (at any depth), by path. */
export function documentationPages(root = REPOSITORY_ROOT): DocumentationPage[] {
  const docs = readdirSync(join(root, 'docs'), { recursive: true, encoding: 'utf8' })
    .map((path) => path.split(sep).join('/'))
    .filter((path) => path.endsWith('.md'))
    .sort()
    .map((path) => `docs/${path}`);
  return ['README.md', ...docs].map((path) => ({
    path,
    markdown: readFileSync(join(root, path), 'utf8'),
  }));
}

const MARKED_BLOCK = /<!-- tested: api-example ([\w-]+) -->\n+```(\w*)\n([\s\S]*?)\n```/g;

/**
 * Every marked example in the documentation, by name: a name used twice, on one page or on two,
 * is an error.
 */
export function readmeApiExamples(
  pages: readonly DocumentationPage[] = documentationPages(),
): ReadonlyMap<string, ReadmeExample> {
  const examples = new Map<string, ReadmeExample>();
  for (const { path: page, markdown } of pages) {
    for (const [, name = '', language = '', code = ''] of markdown.matchAll(MARKED_BLOCK)) {
      const earlier = examples.get(name);
      if (earlier !== undefined) {
        throw new Error(
          `${page}: an API example named "${name}" is already in ${earlier.page}; names are unique.`,
        );
      }
      examples.set(name, { name, language, code, page });
    }
  }
  return examples;
}

export interface ShellCommand {
  /** The command as written (continuation lines included). */
  readonly command: string;
  /** The `# …` lines after it, which show what it answers; null when there are none. */
  readonly answer: string | null;
}

/** A `sh` block's commands: each starts on a line that begins with `curl `. */
export function shellCommands(code: string): ShellCommand[] {
  const commands: { lines: string[]; answer: string[] }[] = [];
  for (const line of code.split('\n')) {
    if (line.startsWith('curl ')) commands.push({ lines: [line], answer: [] });
    else if (commands.length === 0)
      throw new Error(`API example: a line before any command: ${line}`);
    else if (line.startsWith('# ')) commands.at(-1)?.answer.push(line.slice(2));
    else commands.at(-1)?.lines.push(line);
  }
  return commands.map(({ lines, answer }) => ({
    command: lines.join('\n'),
    answer: answer.length === 0 ? null : answer.join('\n'),
  }));
}

/**
 * The example with the stack's address for `http://localhost:8080` (and `ws://`), and each
 * `<placeholder>` replaced; a placeholder left without a value is an error.
 */
export function substitute(
  code: string,
  url: string,
  placeholders: Readonly<Record<string, string>>,
): string {
  const address = new URL(url).host;
  const result = code
    .replaceAll('http://localhost:8080', `http://${address}`)
    .replaceAll('ws://localhost:8080', `ws://${address}`)
    .replace(/<([a-z]+(?:-[a-z]+)*)>/g, (whole, name: string) => {
      const value = placeholders[name];
      if (value === undefined)
        throw new Error(`API example: no value for the placeholder ${whole}.`);
      return value;
    });
  if (result.includes('localhost:8080')) throw new Error('API example: an address was left as is.');
  return result;
}

/** The GraphQL document and variables a curl example sends (its `-d '…'`). */
export function curlGraphqlBody(command: string): {
  query: string;
  variables: Record<string, unknown>;
} {
  const body = /-d '([\s\S]*)'\s*$/.exec(command)?.[1];
  if (body === undefined) throw new Error(`API example: no -d '…' body in ${command}`);
  return JSON.parse(body) as { query: string; variables: Record<string, unknown> };
}

/**
 * Where the answer lacks a field the document selects: each selected field must be present
 * (null allowed), and the fields under it too wherever it has a value. Empty when none is missing.
 */
export function missingFields(query: string, data: unknown): string[] {
  const document = parse(query);
  const missing: string[] = [];
  const visit = (selections: SelectionSetNode, value: unknown, path: string): void => {
    if (value === null) return;
    if (Array.isArray(value)) {
      value.forEach((item, index) => {
        visit(selections, item, `${path}.${index}`);
      });
      return;
    }
    for (const selection of selections.selections) {
      if (selection.kind !== Kind.FIELD) throw new Error('API examples select fields only.');
      const key = selection.alias?.value ?? selection.name.value;
      const fieldPath = path === '' ? key : `${path}.${key}`;
      if (typeof value !== 'object' || !(key in value)) {
        missing.push(fieldPath);
        continue;
      }
      const child = (value as Record<string, unknown>)[key];
      if (selection.selectionSet !== undefined) visit(selection.selectionSet, child, fieldPath);
    }
  };
  for (const definition of document.definitions) {
    if (definition.kind !== Kind.OPERATION_DEFINITION)
      throw new Error('API example: one operation only.');
    visit(definition.selectionSet, data, '');
  }
  return missing;
}

/** An answer's object keys, as sorted dotted paths (to compare with an example's sample answer). */
export function keyPaths(value: unknown, path = ''): string[] {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [];
  return Object.entries(value)
    .flatMap(([key, child]) => {
      const childPath = path === '' ? key : `${path}.${key}`;
      return [childPath, ...keyPaths(child, childPath)];
    })
    .sort();
}

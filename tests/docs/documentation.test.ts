/**
 * The documentation holds together: README.md stays a short front page, every relative link in
 * it and in docs/ reaches a file that exists (and, for a Markdown page, a heading that exists),
 * and the API examples the e2e test runs are found on whichever page they live.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPOSITORY_ROOT } from '../../deploy/local-stack.ts';
import {
  documentationPages,
  readmeApiExamples,
  type DocumentationPage,
} from '../helpers/readme-examples.ts';

/** The README's limit: what a visitor reads before going to docs/. */
const README_MAX_LINES = 150;

/** Markdown without its fenced code blocks and inline code, where `[a](b)` is not a link. */
function prose(markdown: string): string {
  return markdown.replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '').replace(/`[^`\n]*`/g, '');
}

/** `[label](target)` and `![alt](target)` links, with their targets. */
function links(markdown: string): string[] {
  return [...prose(markdown).matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map(
    ([, target = '']) => target,
  );
}

/** The anchors GitHub gives a page's headings (github-slugger's rule, repeats numbered). */
function headingAnchors(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const [, text = ''] of markdown
    .replace(/^(```|~~~)[^\n]*\n[\s\S]*?^\1[^\n]*$/gm, '')
    .matchAll(/^#{1,6}[ \t]+(.+?)[ \t#]*$/gm)) {
    const slug = text
      .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
      .replace(/ /g, '-');
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return anchors;
}

/** What is wrong with each relative link of a page: a missing file, or a missing heading. */
function brokenLinks(page: DocumentationPage): string[] {
  const problems: string[] = [];
  for (const target of links(page.markdown)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
    const [path = '', anchor] = target.split('#', 2);
    const file =
      path === '' ? page.path : normalize(join(dirname(page.path), decodeURIComponent(path)));
    const absolute = join(REPOSITORY_ROOT, file);
    if (path !== '' && (file.startsWith('..') || !existsSync(absolute))) {
      problems.push(`${page.path}: ${target}: no such file`);
      continue;
    }
    if (anchor === undefined || !file.endsWith('.md')) continue;
    if (path !== '' && statSync(absolute).isDirectory()) continue;
    const markdown = file === page.path ? page.markdown : readFileSync(absolute, 'utf8');
    if (!headingAnchors(markdown).has(decodeURIComponent(anchor))) {
      problems.push(`${page.path}: ${target}: ${file} has no heading #${anchor}`);
    }
  }
  return problems;
}

describe('the documentation', () => {
  const pages = documentationPages();

  it('keeps README.md a front page of at most 150 lines', () => {
    const readme = pages.find((page) => page.path === 'README.md');
    expect(readme?.markdown.trimEnd().split('\n').length).toBeLessThanOrEqual(README_MAX_LINES);
  });

  it('reads README.md and every page under docs/, nested folders included', () => {
    const paths = pages.map((page) => page.path);
    expect(paths[0]).toBe('README.md');
    expect(paths).toContain('docs/README.md');
    expect(paths).toContain('docs/api/README.md');
    expect(paths).toContain('docs/operations/security.md');
  });

  it('links only to files and headings that exist', () => {
    expect(pages.flatMap(brokenLinks)).toEqual([]);
  });

  it('finds the link checker’s faults: a missing file, a missing heading', () => {
    const page = {
      path: 'docs/example.md',
      markdown: [
        '# Example',
        '[ok](#example) [ok](api/README.md#the-api) [ok](../README.md) [ok](https://example.com)',
        '[gone](missing.md) [no such heading](#nowhere) [outside](../../etc/passwd)',
        '`[code](not-a-link.md)`',
        '```',
        '[fenced](not-a-link-either.md)',
        '```',
      ].join('\n'),
    };
    expect(brokenLinks(page)).toEqual([
      'docs/example.md: missing.md: no such file',
      'docs/example.md: #nowhere: docs/example.md has no heading #nowhere',
      'docs/example.md: ../../etc/passwd: no such file',
    ]);
  });

  it('gives headings the anchors GitHub gives them', () => {
    const anchors = headingAnchors(
      [
        '# GPU servers (Docker)',
        '## Fan-out: about 75 µs of CPU, 33 % of it',
        '### `ZEUS_PORT` and [links](x.md)',
        '## Notes',
        '## Notes',
      ].join('\n'),
    );
    expect([...anchors]).toEqual([
      'gpu-servers-docker',
      'fan-out-about-75-µs-of-cpu-33--of-it',
      'zeus_port-and-links',
      'notes',
      'notes-1',
    ]);
  });

  it('finds the API examples on whichever page they are, each name once', () => {
    const examples = readmeApiExamples(pages);
    expect(examples.get('submit')?.page).toBe('README.md');
    expect(examples.get('watch')?.page).toBe('docs/api/README.md');
    expect(examples.get('batch')?.page).toBe('docs/api/job-control.md');
    const marked = (name: string) =>
      `<!-- tested: api-example ${name} -->\n\n\`\`\`sh\ncurl -s http://localhost:8080/\n\`\`\`\n`;
    expect(() =>
      readmeApiExamples([
        { path: 'README.md', markdown: marked('submit') },
        { path: 'docs/api/README.md', markdown: marked('submit') },
      ]),
    ).toThrow('docs/api/README.md: an API example named "submit" is already in README.md');
  });
});

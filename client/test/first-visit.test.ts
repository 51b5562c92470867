import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { describeFirstVisit, firstVisit, type BundleItems } from '../first-visit.ts';

const code = (text: string, times: number): string => text.repeat(times);

/** An app entry importing a shared chunk (and its CSS), and a playground entry of its own. */
const bundle: BundleItems = {
  'assets/app.js': {
    type: 'chunk',
    fileName: 'assets/app.js',
    name: 'app',
    isEntry: true,
    imports: ['assets/shared.js'],
    code: code('app();', 100),
    viteMetadata: { importedCss: new Set(['assets/app.css']) },
  },
  'assets/shared.js': {
    type: 'chunk',
    fileName: 'assets/shared.js',
    name: 'shared',
    isEntry: false,
    imports: ['assets/app.js'],
    code: code('react();', 500),
  },
  'assets/playground.js': {
    type: 'chunk',
    fileName: 'assets/playground.js',
    name: 'playground',
    isEntry: true,
    imports: ['assets/shared.js', 'assets/monaco.js'],
    code: code('monaco();', 5000),
  },
  'assets/monaco.js': {
    type: 'chunk',
    fileName: 'assets/monaco.js',
    name: 'monaco',
    isEntry: false,
    imports: [],
    code: code('editor();', 5000),
  },
  'assets/app.css': { type: 'asset', fileName: 'assets/app.css', source: code('a{}', 50) },
  'index.html': { type: 'asset', fileName: 'index.html', source: code('<p>boot</p>', 20) },
};

describe('firstVisit', () => {
  it("counts the entry, what it imports (once each) and its CSS, gzipped, not the playground's", () => {
    const visit = firstVisit(bundle, 'app');
    expect(visit.files.map((file) => file.fileName)).toEqual([
      'assets/app.js',
      'assets/shared.js',
      'assets/app.css',
    ]);
    expect(visit.jsBytes).toBe(
      gzipSync(code('app();', 100)).length + gzipSync(code('react();', 500)).length,
    );
    expect(visit.cssBytes).toBe(gzipSync(code('a{}', 50)).length);
    expect(visit.htmlBytes).toBe(0);
    expect(describeFirstVisit(visit, 180 * 1024)).toMatch(
      /^First visit downloads 0\.\d KB gzipped \(HTML 0\.0 KB, JS 0\.\d KB, CSS 0\.\d KB, 3 files\); budget 180\.0 KB\.$/,
    );
  });

  it('counts the page itself, with what is inlined in it', () => {
    const visit = firstVisit(bundle, 'app', 'index.html');
    expect(visit.files.map((file) => file.fileName)).toEqual([
      'index.html',
      'assets/app.js',
      'assets/shared.js',
      'assets/app.css',
    ]);
    expect(visit.htmlBytes).toBe(gzipSync(code('<p>boot</p>', 20)).length);
    expect(describeFirstVisit(visit, 180 * 1024)).toMatch(/\(HTML 0\.\d KB, .*, 4 files\)/);
    expect(() => firstVisit(bundle, 'app', 'missing.html')).toThrow(/no page missing\.html/);
  });

  it('refuses a bundle without the entry', () => {
    expect(() => firstVisit(bundle, 'missing')).toThrow(/no entry "missing"/);
  });
});

import { describe, expect, it } from 'vitest';
import { parseSearchChunk, searchText, searchWords } from './job-search.ts';

describe('searchText and searchWords', () => {
  it('compares prompts in NFKC lower case with single spaces', () => {
    expect(searchText('  A  Red\tFOX\n')).toBe('a red fox');
    expect(searchText('Ｃafé')).toBe('café');
  });

  it('splits a search into distinct words; a blank one has none', () => {
    expect(searchWords(' fox  Fox snow ')).toEqual(['fox', 'snow']);
    expect(searchWords(' \t ')).toEqual([]);
  });
});

describe('parseSearchChunk', () => {
  it('reads matches, missing ids and whether the oldest job was reached', () => {
    expect(parseSearchChunk([['a', '9', 'b', '7'], ['c'], '6', 4, 4], 10)).toEqual({
      matches: [
        { id: 'a', order: '9' },
        { id: 'b', order: '7' },
      ],
      missing: ['c'],
      lastOrder: '6',
      reachedEnd: true,
      looked: 4,
    });
    // As many read as asked for: there may be older jobs.
    expect(parseSearchChunk([[], [], '3', 10, 10], 10).reachedEnd).toBe(false);
    // Stopped early with a full page: not the end either.
    expect(parseSearchChunk([['a', '9'], [], '9', 1, 4], 10).reachedEnd).toBe(false);
    expect(parseSearchChunk([[], [], '', 0, 0], 10)).toMatchObject({
      lastOrder: null,
      reachedEnd: true,
    });
  });
});

import {
  GraphQLError,
  GraphQLInt,
  GraphQLObjectType,
  GraphQLSchema,
  GraphQLString,
  parse,
  specifiedRules,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { OperationDocuments, type OperationDocumentsOptions } from './operation-documents.ts';

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({
    name: 'Query',
    fields: { hello: { type: GraphQLString }, answer: { type: GraphQLInt } },
  }),
});

function documents(options: Partial<OperationDocumentsOptions> = {}): {
  documents: OperationDocuments;
  parses: string[];
} {
  const parses: string[] = [];
  return {
    parses,
    documents: new OperationDocuments({
      schema,
      rules: specifiedRules,
      maxTokens: 50,
      parse: (source, parseOptions) => {
        parses.push(typeof source === 'string' ? source : source.body);
        return parse(source, parseOptions);
      },
      ...options,
    }),
  };
}

describe('OperationDocuments', () => {
  it('parses and validates a query text once and hands every caller the same document', () => {
    const { documents: cache, parses } = documents();
    const first = cache.get('{ hello }');
    const second = cache.get('{ hello }');
    expect(first.ok).toBe(true);
    expect(second).toBe(first);
    expect(parses).toEqual(['{ hello }']);
    const other = cache.get('{ answer }');
    expect(other.ok && first.ok && other.document !== first.document).toBe(true);
    expect(parses).toEqual(['{ hello }', '{ answer }']);
    expect(cache.size).toBe(2);
  });

  it('keeps the source text on the document (subscribers are grouped by it)', () => {
    const checked = documents().documents.get('{ hello answer }');
    if (!checked.ok) throw new Error('expected a valid document');
    expect(checked.document.loc?.source.body).toBe('{ hello answer }');
  });

  it('remembers a syntax error as a GraphQL error, without parsing the text again', () => {
    const { documents: cache, parses } = documents();
    const first = cache.get('{ hello');
    expect(first.ok).toBe(false);
    if (first.ok) return;
    expect(first.errors).toHaveLength(1);
    expect(first.errors[0]?.message).toMatch(/^Syntax Error: Expected Name, found <EOF>/);
    expect(cache.get('{ hello')).toBe(first);
    expect(parses).toHaveLength(1);
  });

  it('remembers validation errors, every one of them', () => {
    const { documents: cache, parses } = documents();
    const checked = cache.get('{ nope answer { deeper } }');
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    expect(checked.errors.map((e) => e.message)).toEqual([
      'Cannot query field "nope" on type "Query".',
      'Field "answer" must not have a selection since type "Int" has no subfields.',
    ]);
    cache.get('{ nope answer { deeper } }');
    expect(parses).toHaveLength(1);
  });

  it('applies the token limit', () => {
    const query = `{ ${Array.from({ length: 60 }, () => 'hello').join(' ')} }`;
    const checked = documents().documents.get(query);
    expect(checked.ok).toBe(false);
    if (checked.ok) return;
    // graphql-js writes "more that".
    expect(checked.errors[0]?.message).toMatch(
      /^Syntax Error: Document contains more tha[nt] 50 tokens\. Parsing aborted\.$/,
    );
  });

  it('runs the extra validation rules it is given', () => {
    const { documents: cache } = documents({
      rules: [
        ...specifiedRules,
        (context) => ({
          Field: (node) => {
            if (node.name.value === 'answer') {
              context.reportError(new GraphQLError('No answers here.', { nodes: node }));
            }
          },
        }),
      ],
    });
    expect(cache.get('{ hello }').ok).toBe(true);
    const refused = cache.get('{ answer }');
    expect(refused.ok ? [] : refused.errors.map((e) => e.message)).toEqual(['No answers here.']);
  });

  it('holds no more query text than it is allowed, the least recently used going first', () => {
    const { documents: cache, parses } = documents({ maxCharacters: 30 });
    const a = '{ hello   answer   hello }'; // 26 characters
    const b = '{ answer }';
    cache.get(a);
    cache.get(b); // 36 in all: a, the older, goes
    expect(cache.size).toBe(1);
    cache.get(b);
    cache.get(a);
    expect(parses).toEqual([a, b, a]);
  });
});

import { typeDefs } from '@zeus/schema';
import {
  buildSchema,
  getIntrospectionQuery,
  parse,
  print,
  specifiedRules,
  validate,
  type DocumentNode,
} from 'graphql';
import { describe, expect, it } from 'vitest';
import { OPERATIONS as CLI_OPERATIONS } from '../../cli/src/api.ts';
import {
  JOB_UPDATED_SUBSCRIPTION,
  JOBS_QUERY,
  MODEL_RULES_QUERY,
  SUBMIT_PROMPT_MUTATION,
  SYSTEM_QUERY,
} from '../../client/src/api/operations.ts';
import { BROWSE, SUBMIT_AND_WATCH } from '../../client/src/playground/examples.ts';
import { isTokenLimitMessage, limitRules, REQUEST_LIMITS } from './limits.ts';

const schema = buildSchema(typeDefs);

function problems(
  source: string | DocumentNode,
  introspection = true,
): { code: unknown; rule: unknown; found: unknown; message: string }[] {
  const document =
    typeof source === 'string'
      ? parse(source, { maxLexicalTokens: REQUEST_LIMITS.maxTokens })
      : parse(print(source));
  return validate(schema, document, [...specifiedRules, ...limitRules({ introspection })]).map(
    (error) => ({
      code: error.extensions['code'],
      rule: error.extensions['rule'],
      found: error.extensions['found'],
      message: error.message,
    }),
  );
}

describe('request limits', () => {
  const allowed: [string, string | DocumentNode][] = [
    ['web app ModelRules', MODEL_RULES_QUERY],
    ['web app System', SYSTEM_QUERY],
    ['web app Jobs', JOBS_QUERY],
    ['web app SubmitPrompt', SUBMIT_PROMPT_MUTATION],
    ['web app JobUpdated', JOB_UPDATED_SUBSCRIPTION],
    ...Object.entries(CLI_OPERATIONS).map(([name, query]): [string, string] => [
      `CLI ${name}`,
      query,
    ]),
    ['playground examples', SUBMIT_AND_WATCH],
    ['playground browse', BROWSE],
    ["GraphiQL's introspection", getIntrospectionQuery({ descriptions: true })],
  ];
  it.each(allowed)('let %s through', (_name, operation) => {
    expect(problems(operation)).toEqual([]);
  });

  it('refuse deep, aliased and directive-heavy queries with QUERY_TOO_COMPLEX', () => {
    // The schema has no cycles, so depth comes from nested fragments of fragments.
    const deep = `query { jobs { edges { node { settings { ...A } } } } }
      fragment A on GenerationSettings { ...B } fragment B on GenerationSettings { ...C }
      fragment C on GenerationSettings { ...D } fragment D on GenerationSettings { ...E }
      fragment E on GenerationSettings { prompt }`;
    expect(problems(deep)).toEqual([
      {
        code: 'QUERY_TOO_COMPLEX',
        rule: 'maxDepth',
        // Each fragment spread counts as a level: fields nest 5 deep, through 5 fragments.
        found: 15,
        message:
          'The query is nested too deeply: at most 8 levels (got 15). Ask for less nested fields.',
      },
    ]);

    const aliases = Array.from({ length: 11 }, (_, i) => `s${i}: system { model }`).join(' ');
    expect(problems(`{ ${aliases} }`)).toMatchObject([
      { code: 'QUERY_TOO_COMPLEX', rule: 'maxAliases', found: 11 },
    ]);

    const fields = ['model', 'modelReady', 'queueLength', 'maxQueued', 'running', 'workersOnline'];
    const directives = fields.map((field) => `${field} @include(if: true) @skip(if: false)`);
    expect(problems(`{ system { ${directives.join(' ')} } }`)).toMatchObject([
      { code: 'QUERY_TOO_COMPLEX', rule: 'maxDirectives', found: 12 },
    ]);
  });

  it('refuse more than one mutation per operation, counting fragments', () => {
    const submit = (alias: string) => `${alias}: submitPrompt(input: { prompt: "x" }) { id }`;
    expect(problems(`mutation { ${submit('a')} ${submit('b')} }`)).toEqual([
      {
        code: 'QUERY_TOO_COMPLEX',
        rule: 'maxMutationFields',
        found: 2,
        message:
          'An operation may run at most 1 mutation (got 2). Send each submitPrompt as its own operation.',
      },
    ]);
    expect(
      problems(
        `mutation { ...F ... on Mutation { ${submit('c')} } } fragment F on Mutation { ${submit('d')} }`,
      ),
    ).toMatchObject([{ rule: 'maxMutationFields', found: 2 }]);
    expect(problems(`mutation { ${submit('only')} __typename }`)).toEqual([]);
  });

  it('stop parsing documents over the token limit', () => {
    const long = `{ system { ${'model '.repeat(REQUEST_LIMITS.maxTokens)} } }`;
    let message = '';
    try {
      parse(long, { maxLexicalTokens: REQUEST_LIMITS.maxTokens });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(isTokenLimitMessage(message)).toBe(true);
  });

  it('refuse introspection when it is turned off', () => {
    expect(problems('{ __schema { queryType { name } } }', false)[0]?.message).toMatch(
      /introspection has been disabled/,
    );
    expect(problems('{ __schema { queryType { name } } }', true)).toEqual([]);
    // __typename is not introspection of the schema: clients add it everywhere.
    expect(problems('{ system { __typename model } }', false)).toEqual([]);
  });
});

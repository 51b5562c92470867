import { typeDefs } from '@zeus/schema';
import { buildSchema, Kind, parse, print, type DocumentNode } from 'graphql';
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
import { REQUEST_LIMITS } from './limits.ts';
import { CostBudget, operationCost } from './operation-cost.ts';

const schema = buildSchema(typeDefs);

function cost(
  source: string | DocumentNode,
  variables: Record<string, unknown> = {},
  operationName?: string,
): number {
  const document = typeof source === 'string' ? parse(source) : parse(print(source));
  const found = operationCost(schema, document, operationName, variables);
  if (found === null) throw new Error('no such operation');
  return found;
}

describe('operationCost', () => {
  it('keeps every query of the web app, the CLI and the playground within the limit, at their largest pages', () => {
    const largest: [string, string | DocumentNode, Record<string, unknown>][] = [
      ['web app ModelRules', MODEL_RULES_QUERY, {}],
      ['web app System', SYSTEM_QUERY, {}],
      ['web app Jobs', JOBS_QUERY, { first: 8 }],
      ['web app SubmitPrompt', SUBMIT_PROMPT_MUTATION, {}],
      ['web app JobUpdated', JOB_UPDATED_SUBSCRIPTION, {}],
      ['playground examples', SUBMIT_AND_WATCH, {}],
      ['playground browse', BROWSE, {}],
      ...Object.entries(CLI_OPERATIONS).map(
        ([name, query]): [string, string, Record<string, unknown>] => [
          `CLI ${name}`,
          query,
          { first: 100 },
        ],
      ),
    ];
    for (const [name, source, variables] of largest) {
      const document = typeof source === 'string' ? parse(source) : parse(print(source));
      for (const definition of document.definitions) {
        if (definition.kind !== Kind.OPERATION_DEFINITION) continue;
        const found = cost(source, variables, definition.name?.value);
        expect(found, name).toBeLessThanOrEqual(REQUEST_LIMITS.maxCost);
      }
    }
  });

  it('counts a page size given as a variable as that many jobs, or the default', () => {
    const query = 'query ($n: Int) { jobs(first: $n) { edges { node { id } } } }';
    const one = cost(query, { n: 1 });
    expect(cost(query, { n: 100 })).toBe(one * 100);
    // Absent or null: the argument's default (20), as the resolver reads it.
    expect(cost(query, {})).toBe(one * 20);
    expect(cost(query, { n: null })).toBe(one * 20);
    expect(cost('{ jobs(first: 100) { edges { node { id } } } }')).toBe(one * 100);
    expect(cost('query ($n: Int = 50) { jobs(first: $n) { edges { node { id } } } }', {})).toBe(
      one * 50,
    );
  });

  it('refuses the variable-sized pages that used to pass: ten aliases of 100 jobs', () => {
    const aliases = Array.from(
      { length: 10 },
      (_, i) => `j${i}: jobs(first: $n) { edges { node { id webhookDeliveries { status } } } }`,
    ).join(' ');
    expect(cost(`query ($n: Int) { ${aliases} }`, { n: 100 })).toBeGreaterThan(
      REQUEST_LIMITS.maxCost,
    );
  });

  it('charges fields that read Redis each time they are resolved', () => {
    const plain = cost('{ jobs(first: 10) { edges { node { id } } } }');
    const deliveries = cost(
      '{ jobs(first: 10) { edges { node { id webhookDeliveries { ok } } } } }',
    );
    // 10 jobs × a Redis read each, nested two levels below the page.
    expect(deliveries - plain).toBeGreaterThan(10 * 10 * 1.5 * 1.5);
    const systems = Array.from({ length: 10 }, (_, i) => `s${i}: system { model }`).join(' ');
    expect(cost(`{ ${systems} }`)).toBe(10 * cost('{ system { model } }'));
    expect(cost('{ system { model } }')).toBeGreaterThan(cost('{ modelRules { model } }'));
  });

  it('lets a literal page of 100 jobs with every field through', () => {
    const every = `id status stage progress step totalSteps queuePosition videoUrl attempts
      error { code message } settings { prompt negativePrompt width height numFrames frameRate seed }
      createdAt startedAt finishedAt updatedAt`;
    expect(
      cost(`{ jobs(first: 100) { totalCount edges { cursor node { ${every} } } } }`),
    ).toBeLessThanOrEqual(REQUEST_LIMITS.maxCost);
  });

  it('counts fragments where they are spread, and introspection as free', () => {
    expect(
      cost('{ jobs(first: 5) { edges { node { ...F } } } } fragment F on Job { id status }'),
    ).toBe(cost('{ jobs(first: 5) { edges { node { id status } } } }'));
    expect(cost('{ __schema { types { name fields { name } } } }')).toBe(0);
  });
});

describe('CostBudget', () => {
  it('lets a batch spend one limit between its operations', () => {
    const budget = new CostBudget(REQUEST_LIMITS.maxCost);
    const page = cost('query ($n: Int) { jobs(first: $n) { edges { node { id status } } } }', {
      n: 100,
    });
    let spent = 0;
    while (budget.spend(page)) spent += 1;
    expect(spent).toBe(Math.floor(REQUEST_LIMITS.maxCost / page));
    expect(budget.remaining).toBeLessThan(page);
    expect(budget.spend(1)).toBe(true);
  });
});

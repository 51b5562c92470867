import { typeDefs } from '@zeus/schema';
import { buildSchema, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { WORKERS_QUERY } from '../src/api/workers.ts';

describe('the Workers panel’s query', () => {
  it('is valid against schema.graphql', () => {
    expect(validate(buildSchema(typeDefs), WORKERS_QUERY).map((e) => e.message)).toEqual([]);
  });
});

import { typeDefs } from '@zeus/schema';
import { buildSchema, parse, validate } from 'graphql';
import { describe, expect, it } from 'vitest';
import { OPERATIONS } from '../src/api.ts';

describe('the CLI’s operations', () => {
  const schema = buildSchema(typeDefs);
  it.each(Object.entries(OPERATIONS))('%s is valid against schema.graphql', (_name, operation) => {
    expect(validate(schema, parse(operation)).map((error) => error.message)).toEqual([]);
  });
});

import { readFileSync } from 'node:fs';
import { buildSchema } from 'graphql';
import { describe, expect, it } from 'vitest';
import { GENERATED_PATH, generateTypes } from './codegen.ts';
import { typeDefs } from './index.ts';

describe('schema', () => {
  it('is valid SDL', () => {
    expect(() => buildSchema(typeDefs)).not.toThrow();
  });

  it('matches its generated TypeScript types (run `npm run codegen -w @zeus/schema`)', async () => {
    expect(readFileSync(GENERATED_PATH, 'utf8')).toBe(await generateTypes());
  });
});

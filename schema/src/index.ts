/**
 * The GraphQL schema: the SDL in `schema.graphql` is the contract, and `generated/graphql.ts`
 * holds the TypeScript types generated from it (`npm run codegen -w @zeus/schema`).
 */
import { readFileSync } from 'node:fs';

export const SCHEMA_PATH = new URL('../schema.graphql', import.meta.url);

/** The schema's SDL. */
export const typeDefs: string = readFileSync(SCHEMA_PATH, 'utf8');

export type * from './generated/graphql.ts';

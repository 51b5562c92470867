/**
 * Generates `generated/graphql.ts` from the SDL with GraphQL Code Generator: the API's types
 * and typed resolver signatures. `codegen.test.ts` fails when the file is out of date.
 *
 *   npm run codegen -w @zeus/schema
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { codegen } from '@graphql-codegen/core';
import * as typescriptPlugin from '@graphql-codegen/typescript';
import * as resolversPlugin from '@graphql-codegen/typescript-resolvers';
import { buildSchema, parse, printSchema } from 'graphql';
import { format, resolveConfig } from 'prettier';
import { typeDefs } from './index.ts';

export const GENERATED_PATH = new URL('./generated/graphql.ts', import.meta.url);

const HEADER = `/* Generated from schema.graphql by schema/src/codegen.ts: do not edit. */
/* eslint-disable */
`;

export async function generateTypes(): Promise<string> {
  const schema = buildSchema(typeDefs);
  const output = await codegen({
    filename: fileURLToPath(GENERATED_PATH),
    schema: parse(printSchema(schema)),
    documents: [],
    config: {
      useTypeImports: true,
      enumsAsTypes: true,
      strictScalars: true,
      scalars: { DateTime: 'string' },
      // Resolvers return Zeus's stored job record; `queuePosition` is added when it is read.
      // Its settings are stored as they are (optional fields absent in older records).
      mappers: {
        Job: '@zeus/core#JobView',
        GenerationSettings: '@zeus/core#GenerationSettings as StoredGenerationSettings',
        // The worker registry's view; `ready` and `currentJob` are resolved from it.
        Worker: '@zeus/core#WorkerView',
      },
      useIndexSignature: false,
    },
    plugins: [{ typescript: {} }, { typescriptResolvers: {} }],
    pluginMap: { typescript: typescriptPlugin, typescriptResolvers: resolversPlugin },
  });
  const prettierOptions = await resolveConfig(fileURLToPath(GENERATED_PATH));
  return format(HEADER + output, { ...prettierOptions, parser: 'typescript' });
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  writeFileSync(GENERATED_PATH, await generateTypes());
  console.log(`Wrote ${fileURLToPath(GENERATED_PATH)}`);
}

import { print, type DocumentNode } from 'graphql';
import { describe, expect, it } from 'vitest';
import { documentJson, documentModuleCode } from '../precompiled-documents.ts';
import { JOB_QUERY, JOBS_QUERY, MODEL_RULES_QUERY, SYSTEM_QUERY } from '../src/api/operations.ts';
import { WORKERS_QUERY } from '../src/api/workers.ts';

describe('precompiled documents', () => {
  it('are the documents gql makes, without source locations', () => {
    for (const document of [
      JOBS_QUERY,
      JOB_QUERY,
      MODEL_RULES_QUERY,
      SYSTEM_QUERY,
      WORKERS_QUERY,
    ]) {
      const json = documentJson(document);
      expect(json).not.toContain('"loc"');
      expect(print(JSON.parse(json) as DocumentNode)).toBe(print(document));
    }
    expect(print(JSON.parse(documentJson(JOB_QUERY)) as DocumentNode)).toContain(
      'fragment JobFields on Job',
    );
  });

  it('make a module of documents, strings and numbers, and refuse anything else', () => {
    const code = documentModuleCode({ JOB_QUERY, SELECTION: 'workers { id }', SIZE: 12 });
    expect(code).toContain('export const JOB_QUERY = /* @__PURE__ */ JSON.parse(');
    expect(code).toContain('export const SELECTION = "workers { id }";');
    expect(code).toContain('export const SIZE = 12;');
    expect(() => documentModuleCode({ helper: () => 1 })).toThrow(/Cannot precompile the export/);
  });
});

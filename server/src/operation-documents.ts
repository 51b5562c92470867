/**
 * Parsed and validated GraphQL documents by query text, for operations that arrive over
 * WebSocket (Apollo Server keeps its own cache for HTTP). Thousands of subscribers usually send
 * the same few queries: each text is parsed and validated once, and every subscriber holds the
 * same document instead of its own copy of the syntax tree.
 *
 * Validation depends on nothing but the text (the schema and the rules are fixed for a server's
 * life), so a rejected query is remembered with its errors as well. The cache is bounded by the
 * total length of the texts it holds, least recently used first out.
 */
import {
  GraphQLError,
  parse,
  validate,
  type DocumentNode,
  type GraphQLSchema,
  type ValidationRule,
} from 'graphql';
import { LRUCache } from 'lru-cache';

export type CheckedDocument =
  | { readonly ok: true; readonly document: DocumentNode }
  | { readonly ok: false; readonly errors: readonly GraphQLError[] };

export interface OperationDocumentsOptions {
  readonly schema: GraphQLSchema;
  readonly rules: readonly ValidationRule[];
  /** The lexer's token limit (graphql-js's `maxTokens`). */
  readonly maxTokens: number;
  /** Characters of query text kept at most (default 4 MiB worth). */
  readonly maxCharacters?: number;
  /** Parses a text (graphql-js's `parse`; tests count calls through it). */
  readonly parse?: typeof parse;
}

export class OperationDocuments {
  private readonly cache: LRUCache<string, CheckedDocument>;
  private readonly parseText: typeof parse;

  constructor(private readonly options: OperationDocumentsOptions) {
    this.parseText = options.parse ?? parse;
    this.cache = new LRUCache<string, CheckedDocument>({
      maxSize: options.maxCharacters ?? 4 * 1024 * 1024,
      // A syntax tree takes several times its text; the text's length is what varies.
      sizeCalculation: (_value, query) => Math.max(1, query.length),
    });
  }

  /** The document for a query text, parsed and validated the first time it is seen. */
  get(query: string): CheckedDocument {
    const known = this.cache.get(query);
    if (known !== undefined) return known;
    const checked = this.check(query);
    this.cache.set(query, checked);
    return checked;
  }

  get size(): number {
    return this.cache.size;
  }

  private check(query: string): CheckedDocument {
    let document: DocumentNode;
    try {
      document = this.parseText(query, { maxLexicalTokens: this.options.maxTokens });
    } catch (error) {
      if (error instanceof GraphQLError) return { ok: false, errors: [error] };
      throw error;
    }
    const errors = validate(this.options.schema, document, this.options.rules);
    return errors.length > 0 ? { ok: false, errors } : { ok: true, document };
  }
}

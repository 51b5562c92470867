/**
 * What one request may ask of an API server, and the rules that enforce it: the same limits for
 * GraphQL over HTTP (Apollo's validation rules and parse options) and over WebSocket
 * (graphql-ws's `onSubscribe`). Depth, aliases and directives are GraphQL Armor's rules; the
 * cost is operation-cost.ts's, checked once the variables are known; each rejection becomes a
 * `QUERY_TOO_COMPLEX` error that names the limit and what to change.
 */
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import {
  GraphQLError,
  Kind,
  NoSchemaIntrospectionCustomRule,
  OperationTypeNode,
  type ValidationContext,
  type ValidationRule,
} from 'graphql';

export const REQUEST_LIMITS = {
  /** Bytes of a JSON request body, and of one WebSocket message. */
  maxBodyBytes: 64 * 1024,
  /** Operations in one batched HTTP request (a JSON array). */
  maxBatch: 10,
  /** Lexical tokens in one GraphQL document (graphql-js stops parsing beyond it). */
  maxTokens: 2_000,
  /** Nesting of fields (Zeus's deepest useful query is 5; introspection is not counted). */
  maxDepth: 8,
  /** Aliased fields in one operation. */
  maxAliases: 10,
  /**
   * Cost of one request, a batch's operations together (operation-cost.ts): 1 per scalar
   * field, 2 per object, ×1.5 per level of nesting, × `first` (literal or variable), and 10
   * more per field that reads Redis, each time. The CLI's page of 100 jobs costs about 15,200;
   * the web app's page of 8, about 1,700.
   */
  maxCost: 20_000,
  /** Directives in one operation. */
  maxDirectives: 10,
  /** Mutation fields in one operation: one `submitPrompt` per operation. */
  maxMutationFields: 1,
  /** Subscriptions one WebSocket may hold open at once. */
  maxSubscriptionsPerSocket: 100,
} as const;

export type LimitRule =
  | 'maxBodyBytes'
  | 'maxBatch'
  | 'maxTokens'
  | 'maxDepth'
  | 'maxAliases'
  | 'maxCost'
  | 'maxDirectives'
  | 'maxMutationFields'
  | 'maxSubscriptionsPerSocket';

/** A request over one of the limits: the error users get, with the limit and what was found. */
export function limitError(rule: LimitRule, found: number | null): GraphQLError {
  const limit = REQUEST_LIMITS[rule];
  const got = found === null ? '' : ` (got ${found})`;
  const messages: Record<LimitRule, string> = {
    maxBodyBytes: `The request is too large: at most ${limit} bytes${got}. Send a shorter prompt or query.`,
    maxBatch: `Too many operations in one batch: at most ${limit}${got}. Send them in several requests.`,
    maxTokens: `The query is too long: at most ${limit} tokens${got}. Ask for fewer fields.`,
    maxDepth: `The query is nested too deeply: at most ${limit} levels${got}. Ask for less nested fields.`,
    maxAliases: `The query has too many aliases: at most ${limit}${got}. Send several requests instead.`,
    maxCost: `The query asks for too much at once: cost at most ${limit}${got}. Ask for fewer fields.`,
    maxDirectives: `The query has too many directives: at most ${limit}${got}. Remove some.`,
    maxMutationFields: `An operation may run at most ${limit} mutation${limit === 1 ? '' : 's'}${got}. Send each submitPrompt as its own operation.`,
    maxSubscriptionsPerSocket: `Too many subscriptions on one WebSocket: at most ${limit}. End some (or open another connection).`,
  };
  return new GraphQLError(messages[rule], {
    extensions: { code: LIMIT_CODES[rule], rule, limit, ...(found === null ? {} : { found }) },
  });
}

/** The code each limit's error carries: what the query asks is QUERY_TOO_COMPLEX. */
const LIMIT_CODES: Readonly<Record<LimitRule, string>> = {
  maxBodyBytes: 'PAYLOAD_TOO_LARGE',
  maxBatch: 'BATCH_TOO_LARGE',
  maxTokens: 'QUERY_TOO_COMPLEX',
  maxDepth: 'QUERY_TOO_COMPLEX',
  maxAliases: 'QUERY_TOO_COMPLEX',
  maxCost: 'QUERY_TOO_COMPLEX',
  maxDirectives: 'QUERY_TOO_COMPLEX',
  maxMutationFields: 'QUERY_TOO_COMPLEX',
  maxSubscriptionsPerSocket: 'TOO_MANY_SUBSCRIPTIONS',
};

/** True for the codes `limitError` gives. */
export function isLimitCode(code: unknown): boolean {
  return Object.values(LIMIT_CODES).includes(code as string);
}

/** Armor reports "… exceeded, found N."; the number is what the user sent. */
function foundIn(message: string): number | null {
  const match = /found (\d+)/.exec(message);
  return match?.[1] === undefined ? null : Number(match[1]);
}

/** Armor's options for one rule: report through the context with Zeus's error, never throw. */
function armorOptions(rule: LimitRule) {
  return {
    n: REQUEST_LIMITS[rule],
    exposeLimits: true,
    propagateOnRejection: false,
    onReject: [
      (context: ValidationContext | null, error: GraphQLError) => {
        context?.reportError(limitError(rule, foundIn(error.message)));
      },
    ],
  };
}

/** At most `maxMutationFields` root fields in a mutation operation (fragments included). */
const maxMutationFieldsRule: ValidationRule = (context) => ({
  OperationDefinition(operation) {
    if (operation.operation !== OperationTypeNode.MUTATION) return;
    let count = 0;
    const seen = new Set<string>();
    const countIn = (selections: readonly (typeof operation.selectionSet.selections)[number][]) => {
      for (const selection of selections) {
        if (selection.kind === Kind.FIELD) {
          if (!selection.name.value.startsWith('__')) count += 1;
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          countIn(selection.selectionSet.selections);
        } else if (!seen.has(selection.name.value)) {
          seen.add(selection.name.value);
          const fragment = context.getFragment(selection.name.value);
          if (fragment !== null && fragment !== undefined)
            countIn(fragment.selectionSet.selections);
        }
      }
    };
    countIn(operation.selectionSet.selections);
    if (count > REQUEST_LIMITS.maxMutationFields) {
      context.reportError(limitError('maxMutationFields', count));
    }
  },
});

/** The validation rules every operation passes, over HTTP and WebSocket alike. */
export function limitRules(options: { readonly introspection: boolean }): ValidationRule[] {
  return [
    maxDepthRule({ ...armorOptions('maxDepth'), ignoreIntrospection: true }),
    maxAliasesRule(armorOptions('maxAliases')),
    maxDirectivesRule(armorOptions('maxDirectives')),
    maxMutationFieldsRule,
    ...(options.introspection ? [] : [NoSchemaIntrospectionCustomRule]),
  ];
}

/** graphql-js's message when a document has more than `maxTokens` tokens. */
export function isTokenLimitMessage(message: string): boolean {
  // graphql-js 16 says "more that"; a later version may fix the typo.
  return /Document contains more th(?:at|an) \d+ tokens/.test(message);
}

/**
 * How errors reach API users, in one place for HTTP and WebSocket: a Zeus error keeps its
 * message and stable code (with the field and rule for invalid input); a request over a limit
 * is QUERY_TOO_COMPLEX with the limit; Redis being unreachable is SERVICE_UNAVAILABLE; anything
 * else is logged and shown as a bare INTERNAL_SERVER_ERROR, so no stack trace or path leaks out.
 */
import { unwrapResolverError } from '@apollo/server/errors';
import { ZeusError, type Logger } from '@zeus/core';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { isLimitCode, isTokenLimitMessage, limitError } from './limits.ts';

export interface ErrorFormatting {
  readonly logger: Logger;
  /**
   * False when introspection is off: GraphQL's "Did you mean …?" hints would give the schema
   * away, so they are left out.
   */
  readonly introspection: boolean;
  /** Told the code of every error sent (for metrics). */
  readonly onError?: (code: string) => void;
}

/** Codes GraphQL itself and Apollo give to malformed requests: their messages are safe. */
const REQUEST_ERROR_CODES = new Set([
  'GRAPHQL_PARSE_FAILED',
  'GRAPHQL_VALIDATION_FAILED',
  'BAD_USER_INPUT',
  'BAD_REQUEST',
  'OPERATION_RESOLUTION_FAILURE',
  'PERSISTED_QUERY_NOT_FOUND',
  'PERSISTED_QUERY_NOT_SUPPORTED',
]);

function isRedisUnavailable(error: Error): boolean {
  return (
    error.name === 'MaxRetriesPerRequestError' ||
    /Connection is closed|Command timed out|ECONNREFUSED|Stream isn't writeable/.test(error.message)
  );
}

/** The error as the API user sees it. */
export function formatApiError(
  formatted: GraphQLFormattedError,
  error: unknown,
  formatting: ErrorFormatting,
): GraphQLFormattedError {
  const result = describeError(formatted, error, formatting);
  const code = result.extensions?.['code'];
  formatting.onError?.(typeof code === 'string' ? code : 'UNKNOWN');
  if (formatting.introspection) return result;
  return { ...result, message: result.message.replace(/ ?Did you mean [^?]*\?/g, '') };
}

function describeError(
  formatted: GraphQLFormattedError,
  error: unknown,
  { logger }: ErrorFormatting,
): GraphQLFormattedError {
  const original = unwrapResolverError(error);
  const { locations, path } = formatted;
  const where = {
    ...(locations === undefined ? {} : { locations }),
    ...(path === undefined ? {} : { path }),
  };
  if (original instanceof ZeusError) {
    return {
      message: original.message,
      ...where,
      extensions: { ...original.details, code: original.code, retryable: original.retryable },
    };
  }
  if (original instanceof Error && isRedisUnavailable(original)) {
    logger.error({ err: original }, 'Redis is unavailable');
    return {
      message: 'The service is temporarily unavailable. Try again shortly.',
      ...where,
      extensions: { code: 'SERVICE_UNAVAILABLE', retryable: true },
    };
  }
  const extensions = formatted.extensions ?? {};
  // Limit rules report their own extensions; Apollo files them under GRAPHQL_VALIDATION_FAILED.
  const { rule, limit, found } = extensions;
  const limitCode =
    original instanceof GraphQLError ? original.extensions['code'] : extensions['code'];
  if (typeof rule === 'string' && typeof limit === 'number') {
    return {
      message: formatted.message,
      ...where,
      extensions: {
        code: isLimitCode(limitCode) ? limitCode : 'QUERY_TOO_COMPLEX',
        rule,
        limit,
        ...(found === undefined ? {} : { found }),
      },
    };
  }
  if (isTokenLimitMessage(formatted.message)) {
    const tooLong = limitError('maxTokens', null);
    return { message: tooLong.message, ...where, extensions: tooLong.extensions };
  }
  // Apollo's and graphql-js's wording differ and name Apollo's options: say it in Zeus's terms.
  if (/introspection (is not allowed|has been disabled)/.test(formatted.message)) {
    return {
      message: 'Introspection is turned off on this Zeus (ZEUS_INTROSPECTION).',
      ...where,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
  }
  const code = extensions['code'];
  if (typeof code === 'string' && REQUEST_ERROR_CODES.has(code)) {
    return { message: formatted.message, ...where, extensions: { code } };
  }
  if (original instanceof GraphQLError && original.originalError === undefined) {
    // Raised by GraphQL itself about the request (graphql-ws leaves these without a code).
    return {
      message: formatted.message,
      ...where,
      extensions: { code: 'GRAPHQL_VALIDATION_FAILED' },
    };
  }
  logger.error({ err: original }, 'unexpected error in a GraphQL operation');
  return {
    message: 'Internal server error.',
    ...where,
    extensions: { code: 'INTERNAL_SERVER_ERROR' },
  };
}

/** Formats errors that graphql-ws sends (it has no formatError hook of its own). */
export function formatWebSocketErrors(
  errors: readonly GraphQLError[],
  formatting: ErrorFormatting,
): GraphQLFormattedError[] {
  return errors.map((error) => formatApiError(error.toJSON(), error, formatting));
}

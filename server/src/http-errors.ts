/**
 * HTTP errors in GraphQL's response shape (`{ errors: [{ message, extensions: { code } }] }`),
 * for the answers the server gives before or beside GraphQL itself: refused keys, content types
 * and bodies, unknown paths. Express's own error page would show a stack trace instead.
 */
import type { Logger } from '@zeus/core';
import type { ErrorRequestHandler, Response } from 'express';
import { limitError } from './limits.ts';

/** An HTTP error in GraphQL's response shape, with a stable code. */
export function sendError(response: Response, status: number, code: string, message: string): void {
  response.status(status).json({ errors: [{ message, extensions: { code } }] });
}

/**
 * Answers what failed before a route could (body-parser's refusals: malformed JSON, too large,
 * another charset or a compression it does not take) in GraphQL's shape; anything else is a
 * logged 500 with no detail.
 */
export function requestErrorHandler(logger: Logger): ErrorRequestHandler {
  return (error: unknown, _request, response, _next) => {
    const status = httpStatusOf(error);
    if (status >= 500) {
      logger.error({ err: error }, 'HTTP request failed');
      sendError(response, status, 'INTERNAL_SERVER_ERROR', 'Internal server error.');
    } else if (status === 413) {
      const tooLarge = limitError('maxBodyBytes', null);
      sendError(response, 413, 'PAYLOAD_TOO_LARGE', tooLarge.message);
    } else if (status === 415) {
      sendError(
        response,
        415,
        'UNSUPPORTED_MEDIA_TYPE',
        'Send the JSON body as UTF-8, without compression.',
      );
    } else {
      sendError(
        response,
        status,
        'BAD_REQUEST',
        `The request body is not valid JSON${jsonProblem(error)}. Send {"query": "…", "variables": {…}}.`,
      );
    }
  };
}

/** body-parser's description of a JSON syntax error (no paths in it), as " (…)". */
function jsonProblem(error: unknown): string {
  const type =
    typeof error === 'object' && error !== null && 'type' in error ? error.type : undefined;
  if (type !== 'entity.parse.failed' || !(error instanceof SyntaxError)) return '';
  return ` (${error.message.slice(0, 200)})`;
}

/** The HTTP status body-parser and friends attach to their errors; 500 otherwise. */
function httpStatusOf(error: unknown): number {
  const status =
    typeof error === 'object' && error !== null && 'status' in error ? error.status : undefined;
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500;
}

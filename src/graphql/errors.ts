// Maps errors to what clients see: our named domain errors become the contract's
// `extensions.code`; GraphQL's own request errors become BAD_USER_INPUT; anything else is
// masked (logged here, never sent: no stack traces, no SQL).
import { GraphQLError } from 'graphql';
import { JoblineError } from '../domain/errors.ts';
import type { Plugin } from 'graphql-yoga';
import type { Logger } from '../log.ts';

const CONTRACT_CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED']);

export function createErrorMasker(log: Logger) {
  return (error: unknown): Error => {
    const graphqlError = error instanceof GraphQLError ? error : undefined;
    const original = graphqlError ? graphqlError.originalError : error;
    const at = graphqlError ? { nodes: graphqlError.nodes, path: graphqlError.path } : {};

    if (original instanceof JoblineError) {
      return new GraphQLError(original.message, { ...at, extensions: { code: original.code, ...original.details } });
    }
    if (graphqlError && (!original || original instanceof GraphQLError)) {
      // Parse/validation/variable errors, or a scalar that refused its input.
      // The outer error's message says where (`Variable "$input" got invalid value … at
      // "input[3].durationMs"`), so a client can find the bad entry in a batch.
      const code = ((original as GraphQLError | undefined) ?? graphqlError).extensions?.code;
      if (typeof code === 'string' && CONTRACT_CODES.has(code)) return graphqlError;
      return relabelRequestError(graphqlError);
    }
    log.error('unexpected error', { error: String((original as Error)?.stack ?? original) });
    return new GraphQLError('Unexpected error.', { ...at, extensions: { code: 'INTERNAL_SERVER_ERROR' } });
  };
}

/**
 * Yoga reports request errors (unparseable or invalid operations, bad variables) with its
 * own codes; the contract calls them all BAD_USER_INPUT.
 */
export function contractCodesPlugin(): Plugin {
  return {
    onResultProcess({ result }) {
      for (const single of Array.isArray(result) ? result : [result]) {
        const errors = (single as { errors?: GraphQLError[] }).errors;
        for (const error of errors ?? []) {
          const code = error.extensions?.code;
          if (code !== 'INTERNAL_SERVER_ERROR' && !(typeof code === 'string' && CONTRACT_CODES.has(code))) {
            relabelRequestError(error);
          }
        }
      }
    },
  };
}

/**
 * Relabels one of GraphQL's or yoga's own request errors as BAD_USER_INPUT, in place: the
 * error keeps its identity and yoga's `http` status (400); the internal cause is dropped.
 * Yoga would answer legacy `application/json` clients 200 for these (its `spec` flag); a
 * request that was never executed is a client error for every client.
 */
function relabelRequestError(error: GraphQLError): GraphQLError {
  const extensions = error.extensions as Record<string, unknown>;
  delete extensions.originalError;
  delete (extensions.http as { spec?: boolean } | undefined)?.spec;
  extensions.code = 'BAD_USER_INPUT';
  return error;
}

// Client mistakes that yoga or graphql-js would otherwise answer outside the contract — with
// an empty body, or as an unexpected (masked, logged) error. Each becomes a JSON answer
// with BAD_USER_INPUT and a 4xx status. Found by test/api/fuzz.test.ts.
import { GraphQLError } from 'graphql';
import type { Plugin } from 'graphql-yoga';

const badRequest = (message: string, status = 400) =>
  new GraphQLError(message, { extensions: { code: 'BAD_USER_INPUT', http: { status } } });

export function requestErrorsPlugin(): Plugin {
  return {
    onRequestParse({ requestParser, setRequestParser, endResponse, fetchAPI }) {
      // No parser for this content type: yoga would answer 415 with no body.
      if (!requestParser) {
        return endResponse(
          errorResponse(
            fetchAPI,
            415,
            'send the operation as JSON (content-type: application/json), as a GET query string, or as multipart form data',
          ),
        );
      }
      // Yoga's query-string parser JSON.parses `variables` and `extensions` unguarded.
      const parse = requestParser;
      setRequestParser(async (request) => {
        try {
          return await parse(request);
        } catch (error) {
          if (error instanceof SyntaxError) throw badRequest('`variables` and `extensions` must be JSON objects');
          throw error;
        }
      });
    },
    onParse() {
      // graphql-js parses recursively: a literal nested a few thousand deep (within the
      // token limit) overflows the stack. That is the operation's fault, not ours.
      return ({ result, replaceParseResult }) => {
        if (result instanceof RangeError) replaceParseResult(badRequest('the operation is nested too deeply to read'));
      };
    },
    onResultProcess({ result, resultProcessor, setResultProcessor }) {
      // No result format the client accepts (e.g. a subscription with `accept:
      // application/json`): yoga would answer 406 with no body. Say why, in JSON.
      if (resultProcessor) return;
      if (isAsyncIterable(result)) void result[Symbol.asyncIterator]().return?.();
      const streamed = isAsyncIterable(result);
      setResultProcessor(
        (_result, fetchAPI) =>
          errorResponse(
            fetchAPI,
            406,
            streamed
              ? 'a subscription streams its events: accept text/event-stream (SSE), or use graphql-ws'
              : 'accept application/json or application/graphql-response+json',
          ),
        'application/json',
      );
    },
  };
}

function errorResponse(fetchAPI: { Response: typeof Response }, status: number, message: string): Response {
  return new fetchAPI.Response(JSON.stringify({ errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] }), {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return typeof value === 'object' && value !== null && Symbol.asyncIterator in value;
}

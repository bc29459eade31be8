// Malformed and abusive HTTP requests for the fuzz test, and the judge of what comes back.
// Fixed cases cover each kind of abuse by name; seeded fast-check samples add garbage.
import fc from 'fast-check';

export interface Probe {
  label: string;
  method?: 'GET' | 'POST';
  /** Appended to the /graphql URL (GET). */
  search?: string;
  headers: Record<string, string>;
  body?: string | Uint8Array;
}

export interface ProbeContext {
  /** A USER's token; the job `existing` is one of its jobs. */
  token: string;
  adminToken: string;
  bodyLimit: number;
  seed: number;
}

const CODES = new Set(['UNAUTHENTICATED', 'FORBIDDEN', 'BAD_USER_INPUT', 'NOT_FOUND', 'CONFLICT', 'RATE_LIMITED']);
/** Internals that must never reach a client: stack frames, SQL, ORM names, file paths. */
const LEAK = /\bat .+:\d+|stack|prisma|sqlite|\bSELECT\b|\bINSERT\b|node_modules|\/work\/|[\w-]+\.(ts|js|mjs|cjs):\d+/i;

export const SUBMIT = `mutation ($input: SubmitJobInput!) { submitJob(input: $input) { id jobId } }`;
const ME = '{ me { id } }';

/**
 * What is wrong with one GraphQL answer (a status and a JSON body), if anything: it must be
 * a success, or errors that each carry a contract code and a message that leaks nothing.
 */
export function judge(status: number | undefined, text: string): string[] {
  if (status !== undefined && status >= 500) return [`status ${status}: ${text.slice(0, 300)}`];
  let body: { data?: unknown; errors?: Array<{ message?: unknown; extensions?: { code?: unknown } }> };
  try {
    body = JSON.parse(text);
  } catch {
    return [`not JSON: ${text.slice(0, 200)}`];
  }
  if (body.errors === undefined) return body.data === undefined || body.data === null ? ['neither data nor errors'] : [];
  if (!Array.isArray(body.errors) || body.errors.length === 0) return ['errors is not a list'];
  const problems: string[] = [];
  for (const error of body.errors) {
    const code = error.extensions?.code;
    if (typeof code !== 'string' || !CODES.has(code)) problems.push(`code ${String(code)}: ${String(error.message)}`);
    if (typeof error.message !== 'string' || error.message === '') problems.push('no message');
    else if (LEAK.test(error.message)) problems.push(`leaks: ${error.message.slice(0, 300)}`);
  }
  return problems;
}

/** Every HTTP probe, in a fixed order (the random ones from `ctx.seed`). */
export function httpProbes(ctx: ProbeContext): Probe[] {
  return [
    ...badBodies(ctx),
    ...contentTypes(ctx),
    ...wrongVariables(ctx),
    ...bodySizes(ctx),
    ...overLimits(ctx),
    ...batches(ctx),
    ...badTokens(ctx),
    ...badOperations(ctx),
    ...sseProbes(ctx),
    ...getProbes(ctx),
    ...badUnicode(ctx),
    ...randomProbes(ctx),
  ];
}

const post = (label: string, token: string | undefined, body: string | Uint8Array, extra: Record<string, string> = {}): Probe => ({
  label,
  headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}), ...extra },
  body,
});
/** JSON answers only: a subscription is answered 406 rather than streamed forever. */
const json = (label: string, token: string | undefined, payload: unknown) =>
  post(label, token, JSON.stringify(payload), { accept: 'application/json' });
const op = (label: string, token: string, query: string, variables?: unknown) => json(label, token, { query, variables });

function badBodies({ token }: ProbeContext): Probe[] {
  const bodies = ['', ' ', '{', '{"query": ', 'null', 'true', '0', '"query"', '[]', '{}', '{"query":null}', '{"query":42}',
    '{"query":{}}', '{"query":["{ me { id } }"]}', '{"query":"{ me { id } }","variables":"x"}',
    '{"query":"{ me { id } }","variables":[1]}', '{"query":"{ me { id } }","operationName":7}',
    '{"query":"{ me { id } }","extensions":"x"}', '{"query":"{ me { id } }"}}', '\u0000', '{"query":"{ me { id } }"',
    '{"query":"\\u0000"}', '{"query":"{ me { id } }","variables":{"__proto__":{"x":1}}}'];
  return bodies.map((body) => post(`body ${JSON.stringify(body)}`, token, body));
}

function contentTypes({ token }: ProbeContext): Probe[] {
  const types = ['text/plain', 'text/html', 'application/xml', 'application/octet-stream', 'application/x-www-form-urlencoded',
    'multipart/form-data', 'multipart/form-data; boundary=x', 'application/graphql', 'application/json; charset=latin1',
    'image/png', '', 'nonsense'];
  const bodies = ['{"query":"{ me { id } }"}', 'query=%7B%20me%20%7B%20id%20%7D%20%7D', ME,
    '--x\r\nContent-Disposition: form-data; name="operations"\r\n\r\n{"query":"{ me { id } }"}\r\n--x--\r\n'];
  return types.flatMap((type) =>
    bodies.map((body) => post(`content-type ${type} ${body.slice(0, 20)}`, token, body, { 'content-type': type })),
  );
}

function wrongVariables({ token }: ProbeContext): Probe[] {
  const inputs: unknown[] = [null, 1, 'x', [], {}, { jobId: 1, durationMs: 1 }, { jobId: 'a', durationMs: '1' },
    { jobId: 'a', durationMs: 1.5 }, { jobId: 'a', durationMs: 2 ** 31 }, { jobId: 'a', durationMs: -1 },
    { jobId: 'a', durationMs: 1, extra: 1 }, { jobId: 'a', durationMs: 1, priority: 'high' },
    { jobId: 'a', durationMs: 1, payload: 'y'.repeat(8000) }, { jobId: 'a', durationMs: 1, userId: {} },
    { jobId: 'existing', durationMs: 5 }, { jobId: 'a', durationMs: 1, userId: 'someone-else' },
    { jobId: '\u0000', durationMs: 1 }, { jobId: 'a\ud800', durationMs: 1 }, { jobId: 'x'.repeat(5000), durationMs: 1 }];
  return [op('no variables', token, SUBMIT), ...inputs.map((input, i) => op(`wrong variables #${i}`, token, SUBMIT, { input }))];
}

/** Near and over the body limit (checked on Content-Length; yoga then reads the body). */
function bodySizes({ token, bodyLimit }: ProbeContext): Probe[] {
  const base = JSON.stringify({ query: ME, variables: { pad: '' } }).length;
  return [bodyLimit - 200, bodyLimit - 60, bodyLimit, bodyLimit + 1, 2 * bodyLimit, 40 * bodyLimit].flatMap((size) => [
    op(`body of ${size} bytes`, token, ME, { pad: 'p'.repeat(Math.max(0, size - base)) }),
    op(`query of ${size} bytes`, token, `${ME} # ${'c'.repeat(Math.max(0, size - 40))}`),
  ]);
}

/** Over graphql-armor's limits, and nesting it does not see. */
function overLimits({ token }: ProbeContext): Probe[] {
  const nest = (n: number) => `{ job(jobId: "existing") { ${'processor { currentJob { '.repeat(n)}id${' } }'.repeat(n)} } }`;
  const aliases = (n: number, field: (i: number) => string) => Array.from({ length: n }, (_, i) => `a${i}: ${field(i)}`).join(' ');
  const fragments = Array.from({ length: 12 }, (_, i) => `fragment F${i} on Query { me { id } ${i < 11 ? `...F${i + 1} ...F${i + 1}` : ''} }`);
  return [
    ...[6, 7, 50, 300].map((n) => op(`depth ${2 * n + 2}`, token, nest(n))),
    ...[31, 100, 1000].flatMap((n) => [
      op(`${n} aliases`, token, `{ ${aliases(n, () => 'me { id }')} }`),
      op(`${n} aliased mutations`, token, `mutation { ${aliases(n, (i) => `cancelJob(jobId: "none-${i}") { id }`)} }`),
    ]),
    op('5001+ tokens', token, `{ me { ${'id '.repeat(5100)}} }`),
    op('tokens in arguments', token, `{ job(jobId: "existing", userId: ${'"u" '.repeat(3000)}) { id } }`),
    ...[21, 200].flatMap((n) => [
      op(`${n} directives`, token, `{ me ${'@include(if: true) '.repeat(n)}{ id } }`),
      op(`${n} unknown directives`, token, `{ me ${'@nope '.repeat(n)}{ id } }`),
    ]),
    op('nested list literal', token, `{ job(jobId: ${'['.repeat(2000)}"x"${']'.repeat(2000)}) { id } }`),
    op('nested object literal', token, `mutation { submitJob(input: { jobId: "deep2", durationMs: 1, payload: ${'{a:'.repeat(1500)}1${'}'.repeat(1500)} }) { id } }`),
    // As text: JSON.stringify itself would overflow on a value this deep.
    post('nested JSON variable', token,
      `{"query":${JSON.stringify(SUBMIT)},"variables":{"input":{"jobId":"deep","durationMs":1,"payload":${'['.repeat(6000)}${']'.repeat(6000)}}}}`),
    op('fragment cycle', token, `{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }`),
    op('fragment bomb', token, `{ ...F0 } ${fragments.join(' ')}`),
  ];
}

/** JSON arrays: the server takes no batches. */
function batches({ token }: ProbeContext): Probe[] {
  return [1, 2, 10, 100].flatMap((n) => [
    json(`batch of ${n}`, token, Array.from({ length: n }, () => ({ query: ME }))),
    json(`batch of ${n} mutations`, token,
      Array.from({ length: n }, (_, i) => ({ query: SUBMIT, variables: { input: { jobId: `batch-${i}`, durationMs: 1 } } }))),
  ]);
}

function badTokens({ token }: ProbeContext): Probe[] {
  const headers = ['', 'Bearer', 'Bearer ', 'Bearer  ', `Bearer ${token}x`, `bearer ${token}`, `Basic ${btoa('a:b')}`,
    'Bearer jl_' + 'A'.repeat(43), 'Bearer ' + 'x'.repeat(4000), `Bearer ${token} ${token}`, 'Token abc', 'Bearer \u00e9t\u00e9', '\u00ff'];
  const queries = [ME, SUBMIT, '{ jobs { edges { cursor } } }', `mutation { createUser(input: { name: "eve" }) { token } }`];
  return headers.flatMap((authorization) =>
    queries.map((query) =>
      post(`auth ${JSON.stringify(authorization.slice(0, 20))} ${query.slice(0, 20)}`, undefined,
        JSON.stringify({ query, variables: { input: { jobId: 'a', durationMs: 1 } } }), { authorization }),
    ),
  );
}

/** Unknown operations and fields, names that do not match, operations the caller may not run. */
function badOperations({ token }: ProbeContext): Probe[] {
  const queries = ['{ nope }', 'mutation { nope }', 'subscription { nope }', '{ job { id } }', '{ me { nope } }', '{ me }',
    'query { __typename }', 'mutation { __typename }', '{ __schema { types { name } } }', 'query A { me { id } } query B { me { id } }',
    'query A { me { id } } query A { me { id } }', 'subscription { jobCompleted { id } }',
    'subscription { jobProgress(jobId: "existing") { state } }', 'fragment F on Query { me { id } }',
    '{ me { id } ...on Mutation { submitJob { id } } }', 'mutation { addProcessors(count: 1) { id } }',
    'mutation { setPolicy(name: "fifo") { policy } }', '{ users { id } }', 'mutation { removeProcessor(id: "1") { id } }',
    '{ job(jobId: "existing", userId: "admin") { id } }', 'mutation { cancelJob(jobId: "existing", userId: "admin") { id } }',
    'query ($x: Int) { me { id } }', 'query ($x: Nope) { me { id } }', 'query { me { id } } mutation { nope }'];
  return queries.flatMap((query) =>
    [undefined, 'A', 'B', 'Nope', '', null].map((operationName) =>
      json(`op ${query.slice(0, 30)} name=${String(operationName)}`, token, { query, operationName, variables: { x: 'not an int' } }),
    ),
  );
}

/** Subscriptions over SSE that end on their own, so every event can be judged. */
function sseProbes({ token }: ProbeContext): Probe[] {
  const queries = ['subscription { jobProgress(jobId: "existing") { state } }', 'subscription { jobProgress(jobId: "nope") { state } }',
    'subscription { jobProgress(jobId: "existing", userId: "admin") { state } }', 'subscription { jobProgress { state } }'];
  return queries.flatMap((query) =>
    [token, 'garbage'].map((t) => post(`SSE ${query.slice(15, 60)} ${t.slice(0, 4)}`, t, JSON.stringify({ query }), { accept: 'text/event-stream' })),
  );
}

/** GET: queries pass; mutations, junk parameters and streams without SSE are refused. */
function getProbes({ token }: ProbeContext): Probe[] {
  const me = encodeURIComponent(ME);
  const searches = [`query=${encodeURIComponent('mutation { cancelJob(jobId: "existing") { id } }')}`, `query=${me}`, '', 'query=',
    'query=%7B', `query=${me}&variables=%7Bx`, `query=${me}&variables=1`, `query=${me}&operationName=Nope`, 'query=%00',
    'query=%FF%FE', 'query=%E0%80', `query=${encodeURIComponent('subscription { jobCompleted { id } }')}`, `query=${'%7B'.repeat(3000)}`,
    `query=${me}&query=%7B%20nope%20%7D`, 'extensions=%7B%7D', `query=${me}&extensions=%5B`,
    `query=${encodeURIComponent('mutation { submitJob(input: { jobId: "g", durationMs: 1 }) { id } }')}`];
  return searches.flatMap((search) =>
    ['application/json', 'application/graphql-response+json'].map((accept): Probe => ({
      label: `GET ?${search.slice(0, 40)} ${accept}`,
      method: 'GET',
      search,
      headers: { accept, authorization: `Bearer ${token}` },
    })),
  );
}

/** Null bytes and invalid Unicode: in the query, in strings, and as raw bytes. */
function badUnicode({ token }: ProbeContext): Probe[] {
  const queries = ['{ me { id } }\u0000', '{ me\u0000 { id } }', '{ job(jobId: "\u0000") { id } }', '{ job(jobId: "\\u0000") { id } }',
    '{ job(jobId: "\ud800") { id } }', '{ job(jobId: "\\ud800") { id } }', '{ job(jobId: "\\uD83D\\uDE00") { id } }',
    '\ufeff{ me { id } }', '{ me { \u200bid } }', '{ job(jobId: "\\x41") { id } }'];
  const byteRuns = [[0xff, 0xfe], [0xc3, 0x28], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x00], [0xef, 0xbb, 0xbf, 0x7b, 0x7d]];
  const prefix = Buffer.from('{"query":"{ job(jobId: \\"');
  const suffix = Buffer.from('\\") { id } }"}');
  return [
    ...queries.map((query) => op(`unicode ${JSON.stringify(query)}`, token, query)),
    ...byteRuns.flatMap((bytes) => [
      post(`raw bytes ${bytes.join(',')}`, token, Buffer.concat([prefix, Buffer.from(bytes), suffix])),
      post(`raw body ${bytes.join(',')}`, token, Buffer.from(bytes)),
    ]),
  ];
}

function randomProbes({ token, adminToken, seed }: ProbeContext): Probe[] {
  const sample = <T>(arb: fc.Arbitrary<T>, numRuns: number, salt: number) => fc.sample(arb, { seed: seed + salt, numRuns });
  const piece = fc.constantFrom('{', '}', '(', ')', '[', ']', ':', '!', '=', '$x', '...', '@skip(if: true)', '@include', 'query',
    'mutation', 'subscription', 'fragment', 'on', 'Query', 'Mutation', 'me', 'id', 'jobs', 'job', 'jobId:', '"existing"', 'submitJob',
    'input:', 'durationMs:', '1', '-1', '1e999', '"\\u0000"', 'null', 'true', '#', '"""', '__typename', '__schema', 'a:', 'cancelJob');
  const rules = 'mutation ($input: RulesInput!) { setRules(input: $input) { updatedAt } }';
  return [
    ...sample(fc.string({ unit: 'binary', maxLength: 300 }), 60, 1).map((body, i) => post(`random body #${i}`, token, body)),
    ...sample(fc.uint8Array({ maxLength: 300 }), 30, 2).map((bytes, i) => post(`random bytes #${i}`, token, bytes)),
    ...sample(fc.jsonValue({ maxDepth: 4 }), 40, 3).map((value, i) => json(`random JSON body #${i}`, token, value)),
    ...sample(fc.string({ unit: 'binary', maxLength: 200 }), 40, 4).map((query, i) => op(`random query #${i}`, token, query)),
    ...sample(fc.jsonValue({ maxDepth: 4 }), 50, 5).map((input, i) => op(`random input #${i}`, token, SUBMIT, { input })),
    ...sample(fc.array(piece, { maxLength: 40 }).map((p) => p.join(' ')), 120, 6).map((query, i) =>
      op(`token soup #${i}: ${query.slice(0, 60)}`, token, query),
    ),
    ...sample(fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 5 }), 20, 7).map((input, i) =>
      op(`random rules #${i} (admin)`, adminToken, rules, { input }),
    ),
  ];
}

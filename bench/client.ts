// Minimal GraphQL clients for the benchmark: HTTP via Node's fetch (undici; keep-alive by
// default) and graphql-ws over `ws`.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';

export class GraphQLRequestError extends Error {}

interface GraphQLResponse<T> {
  data?: T;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export class HttpClient {
  constructor(
    readonly url: string,
    private readonly token: string,
  ) {}

  /** Runs one operation; throws on HTTP or GraphQL errors. */
  async request<T>(query: string, variables?: Record<string, unknown>): Promise<T> {
    const response = await fetch(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${this.token}` },
      body: JSON.stringify({ query, variables }),
    });
    const text = await response.text();
    let body: GraphQLResponse<T>;
    try {
      body = JSON.parse(text) as GraphQLResponse<T>;
    } catch {
      throw new GraphQLRequestError(`HTTP ${response.status}, not JSON: ${text.slice(0, 300)}`);
    }
    if (body.errors?.length) {
      const first = body.errors[0]!;
      throw new GraphQLRequestError(
        `HTTP ${response.status}: ${first.message} (${first.extensions?.code ?? 'no code'})` +
          (body.errors.length > 1 ? ` and ${body.errors.length - 1} more` : ''),
      );
    }
    if (!response.ok || body.data === undefined) {
      throw new GraphQLRequestError(`HTTP ${response.status} without data: ${text.slice(0, 300)}`);
    }
    return body.data;
  }
}

export async function createUser(admin: HttpClient, name: string): Promise<{ id: string; token: string }> {
  const data = await admin.request<{ createUser: { user: { id: string }; token: string } }>(
    'mutation($input: CreateUserInput!) { createUser(input: $input) { user { id } token } }',
    { input: { name } },
  );
  return { id: data.createUser.user.id, token: data.createUser.token };
}

export function createWsClient(wsUrl: string, token: string): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    lazy: false,
    // A dropped connection must fail the benchmark (through the sink's error), not retry silently.
    retryAttempts: 0,
  });
}

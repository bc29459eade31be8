// Real clients: GraphQL over HTTP (fetch), graphql-ws over a WebSocket, and SSE.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { ADMIN_TOKEN } from './app.ts';

export interface GqlResult<T = Record<string, any>> {
  status: number;
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; [key: string]: unknown } }>;
}

export async function gql<T = Record<string, any>>(
  url: string,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<GqlResult<T>> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  const body = (await res.json()) as Omit<GqlResult<T>, 'status'>;
  return { status: res.status, ...body };
}

/** Like gql, but fails loudly on any error and returns `data`. */
export async function ok<T = Record<string, any>>(
  url: string,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): Promise<T> {
  const result = await gql<T>(url, token, query, variables);
  if (result.errors?.length || !result.data) throw new Error(`GraphQL errors: ${JSON.stringify(result.errors)}`);
  return result.data;
}

export function codeOf(result: GqlResult): string | undefined {
  return result.errors?.[0]?.extensions?.code;
}

export interface TestUser {
  id: string;
  token: string;
}

export async function createUser(url: string, name: string, extra: Record<string, unknown> = {}): Promise<TestUser> {
  const data = await ok<{ createUser: { user: { id: string }; token: string } }>(
    url,
    ADMIN_TOKEN,
    `mutation ($input: CreateUserInput!) { createUser(input: $input) { user { id } token } }`,
    { input: { name, ...extra } },
  );
  return { id: data.createUser.user.id, token: data.createUser.token };
}

export const JOB_FIELDS = `id jobId state durationMs priority submittedAt startedAt finishedAt waitMs runMs elapsedMs
  progress queuePosition attempts error user { id } processor { id name }`;

export async function submit(url: string, token: string, input: Record<string, unknown>) {
  const data = await ok<{ submitJob: Record<string, any> }>(
    url,
    token,
    `mutation ($input: SubmitJobInput!) { submitJob(input: $input) { ${JOB_FIELDS} } }`,
    { input },
  );
  return data.submitJob;
}

/**
 * A queue over a stream: every message is kept, and `next()` waits for the next one, so
 * tests never race a stream or sleep.
 */
export class MessageQueue<T> {
  private readonly items: T[] = [];
  private waiters: Array<() => void> = [];
  ended = false;
  error: unknown;

  push(item: T): void {
    this.items.push(item);
    this.wake();
  }

  end(error?: unknown): void {
    this.ended = true;
    this.error = error;
    this.wake();
  }

  /** The next message; rejects if the stream ends first or nothing arrives within `timeoutMs`. */
  async next(timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.items.length === 0) {
      if (this.ended) throw new Error(`stream ended${this.error ? `: ${JSON.stringify(this.error)}` : ''}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a message');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.items.shift()!;
  }

  /** Messages until one satisfies `until` (inclusive). */
  async collect(until: (item: T) => boolean, timeoutMs = 20_000): Promise<T[]> {
    const out: T[] = [];
    for (;;) {
      const item = await this.next(timeoutMs);
      out.push(item);
      if (until(item)) return out;
    }
  }

  /** Resolves once the stream has ended (completed or failed). */
  async done(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.ended) {
      if (Date.now() > deadline) throw new Error('stream did not end');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, deadline - Date.now());
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  get buffered(): readonly T[] {
    return this.items;
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

export interface WsResult<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string } }>;
}

export function wsClient(url: string, token: string | undefined): Client {
  return createClient({
    url: url.replace(/^http/, 'ws'),
    webSocketImpl: WebSocket,
    connectionParams: token ? { authorization: `Bearer ${token}` } : {},
    retryAttempts: 0,
    lazy: true,
  });
}

/** Subscribes over graphql-ws; every result goes into the queue; the queue ends on complete/error. */
export function wsSubscribe<T = Record<string, any>>(
  client: Client,
  query: string,
  variables?: Record<string, unknown>,
): MessageQueue<WsResult<T>> & { unsubscribe(): void } {
  const queue = new MessageQueue<WsResult<T>>() as MessageQueue<WsResult<T>> & { unsubscribe(): void };
  queue.unsubscribe = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => queue.push(value as WsResult<T>),
      error: (error) => queue.end(error),
      complete: () => queue.end(),
    },
  );
  return queue;
}

/** Subscribes over SSE (`accept: text/event-stream`); each `next` event's JSON goes in the queue. */
export function sseSubscribe<T = Record<string, any>>(
  url: string,
  token: string | undefined,
  query: string,
  variables?: Record<string, unknown>,
): MessageQueue<WsResult<T>> & { close(): void; status: Promise<number> } {
  const controller = new AbortController();
  const queue = new MessageQueue<WsResult<T>>() as MessageQueue<WsResult<T>> & {
    close(): void;
    status: Promise<number>;
  };
  queue.close = () => controller.abort();
  queue.status = (async () => {
    const res = await fetch(url, {
      method: 'POST',
      signal: controller.signal,
      headers: {
        'content-type': 'application/json',
        accept: 'text/event-stream',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: JSON.stringify({ query, variables }),
    });
    void (async () => {
      let buffer = '';
      try {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          buffer += Buffer.from(chunk).toString('utf8');
          let cut;
          while ((cut = buffer.indexOf('\n\n')) >= 0) {
            const block = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((line) => line.startsWith('data:'))
              .map((line) => line.slice(5).trim())
              .join('\n');
            if (event === 'complete') return queue.end();
            if (data) queue.push(JSON.parse(data) as WsResult<T>);
          }
        }
        queue.end();
      } catch (error) {
        queue.end(controller.signal.aborted ? undefined : String(error));
      }
    })();
    return res.status;
  })();
  return queue;
}

/**
 * Waits until a `jobCompleted` stream is registered on the server: finishes probe jobs
 * (durationMs 0) until one is seen. A stream has no acknowledgement, and an event
 * published before registration is not replayed, so this is the only race-free barrier.
 * Later probe completions may still arrive: use `notProbe` to skip them.
 */
export async function primeCompletions(
  url: string,
  token: string,
  queue: MessageQueue<WsResult<{ jobCompleted: { jobId: string } }>>,
): Promise<void> {
  for (let i = 0; ; i++) {
    await submit(url, token, { jobId: `probe-${i}-${Date.now()}`, durationMs: 0 });
    try {
      await queue.next(i < 20 ? 1000 : 15_000);
      return;
    } catch (error) {
      if (queue.ended || i >= 20) throw error;
    }
  }
}

export const notProbe = (jobId: string) => !jobId.startsWith('probe-');

/** The next completion that is not a probe. */
export async function nextCompletion<T extends { jobId: string }>(
  queue: MessageQueue<WsResult<{ jobCompleted: T }>>,
): Promise<T> {
  for (;;) {
    const event = (await queue.next()).data!.jobCompleted;
    if (notProbe(event.jobId)) return event;
  }
}

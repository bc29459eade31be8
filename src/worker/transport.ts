// The worker SDK's wire: one GraphQL operation over HTTP POST (Node's fetch), errors sorted
// into what a caller should do about them, and the retry arithmetic (capped exponential
// backoff with jitter, sleeps that a stop can cut short). No dependency beyond Node.

/** What went wrong with a request, as far as retrying is concerned. */
export type RequestErrorKind =
  /** No usable answer: connection refused or reset, timeout, HTTP 5xx, a masked server error. Retry. */
  | 'transient'
  /** RATE_LIMITED (or HTTP 429): retry after `retryAfterMs`. */
  | 'rate-limited'
  /** The server answered with a contract error (`code`): retrying the same request will not help. */
  | 'rejected';

export class JoblineRequestError extends Error {
  constructor(
    message: string,
    readonly kind: RequestErrorKind,
    /** The contract's `extensions.code` when the server sent one (CONFLICT, NOT_FOUND, …). */
    readonly code?: string,
    readonly status?: number,
    readonly retryAfterMs?: number,
  ) {
    super(message);
    this.name = 'JoblineRequestError';
  }
}

interface GraphQLBody<T> {
  data?: T | null;
  errors?: Array<{ message: string; extensions?: { code?: string; retryAfterMs?: unknown } }>;
}

export interface TransportOptions {
  url: string;
  token: string;
  /** Replaces the global fetch (tests, proxies). */
  fetch?: typeof fetch;
}

/** Clock skew we ignore: the HTTP Date header has a resolution of one second. */
const SKEW_TOLERANCE_MS = 1500;

export class Transport {
  /** Server clock minus ours, estimated from the Date header; 0 while within tolerance. */
  clockOffsetMs = 0;
  private readonly fetch: typeof fetch;

  constructor(private readonly options: TransportOptions) {
    this.fetch = options.fetch ?? fetch;
  }

  /** The server's "now", for reading its timestamps (lease expiry) against our clock. */
  serverNow(): number {
    return Date.now() + this.clockOffsetMs;
  }

  /**
   * Runs one operation and returns `data`; throws JoblineRequestError. `timeoutMs` bounds the
   * whole exchange; `signal` aborts it (the AbortError is rethrown as is).
   */
  async request<T>(
    query: string,
    variables: Record<string, unknown>,
    { timeoutMs, signal }: { timeoutMs: number; signal?: AbortSignal },
  ): Promise<T> {
    // One controller per request, unhooked afterwards: `signal` may live as long as the worker.
    const controller = new AbortController();
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, timeoutMs);
    const onAbort = () => controller.abort(signal?.reason);
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(this.options.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          authorization: `Bearer ${this.options.token}`,
        },
        body: JSON.stringify({ query, variables }),
        signal: controller.signal,
      });
      text = await response.text();
    } catch (error) {
      if (signal?.aborted) throw signal.reason ?? error;
      const cause = (error as { cause?: { code?: string; message?: string } }).cause;
      const why = timedOut ? `no answer within ${timeoutMs} ms` : (cause?.code ?? cause?.message ?? String(error));
      throw new JoblineRequestError(`request failed: ${why}`, 'transient');
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
    this.noteServerDate(response.headers.get('date'));

    let body: GraphQLBody<T> | undefined;
    try {
      body = JSON.parse(text) as GraphQLBody<T>;
    } catch {
      body = undefined;
    }
    const first = body?.errors?.[0];
    const code = first?.extensions?.code;
    if (code === 'RATE_LIMITED' || response.status === 429) {
      const hinted = Number(first?.extensions?.retryAfterMs ?? Number(response.headers.get('retry-after')) * 1000);
      const retryAfterMs = Number.isFinite(hinted) && hinted >= 0 ? hinted : 1000;
      throw new JoblineRequestError(first?.message ?? 'rate limited', 'rate-limited', 'RATE_LIMITED', response.status, retryAfterMs);
    }
    if (response.status >= 500 || code === 'INTERNAL_SERVER_ERROR') {
      throw new JoblineRequestError(
        `server error (HTTP ${response.status}): ${first?.message ?? text.slice(0, 200)}`,
        'transient',
        code,
        response.status,
      );
    }
    if (first) throw new JoblineRequestError(first.message, 'rejected', code, response.status);
    if (!body || body.data == null || !response.ok) {
      throw new JoblineRequestError(`unexpected answer (HTTP ${response.status}): ${text.slice(0, 200)}`, 'rejected', undefined, response.status);
    }
    return body.data;
  }

  private noteServerDate(header: string | null): void {
    const serverMs = header ? Date.parse(header) : NaN;
    if (!Number.isFinite(serverMs)) return;
    // The header truncates to whole seconds: the server's clock was in [serverMs, serverMs + 1000).
    const offset = serverMs + 500 - Date.now();
    this.clockOffsetMs = Math.abs(offset) > SKEW_TOLERANCE_MS ? offset : 0;
  }
}

/** Capped exponential backoff with jitter: attempt 0 waits about `baseMs`. */
export function backoffMs(attempt: number, baseMs: number, capMs: number): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.min(attempt, 30));
  return ceiling / 2 + Math.random() * (ceiling / 2);
}

/** Resolves after `ms`, or early (without throwing) when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, ms));
    signal?.addEventListener('abort', done, { once: true });
  });
}

// A user's live streams are bounded over every connection and transport together.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from 'graphql-ws';
import { startApp, type TestApp } from '../helpers/app.ts';
import { createUser, sseSubscribe, wsClient, wsSubscribe, type TestUser, type WsResult } from '../helpers/client.ts';

const MY_QUEUE = `subscription { myQueue { queuedCount } }`;

/** The first thing a stream says: data (admitted) or an error code (refused). */
async function firstOutcome(stream: { next(): Promise<WsResult<unknown>> }): Promise<string> {
  try {
    const first = await stream.next();
    return first.errors?.[0]?.extensions?.code ?? (first.data ? 'DATA' : 'EMPTY');
  } catch (error) {
    const code = (error as Array<{ extensions?: { code?: string } }>)[0]?.extensions?.code;
    return code ?? String(error);
  }
}

describe('live streams per user', () => {
  let t: TestApp;
  let user: TestUser;
  let other: TestUser;
  const clients: Client[] = [];

  beforeAll(async () => {
    t = await startApp({ JOBLINE_PROCESSORS: '0', JOBLINE_MAX_STREAMS_PER_USER: '3' });
    user = await createUser(t.url, 'streamer');
    other = await createUser(t.url, 'bystander');
  });
  afterAll(async () => {
    await Promise.all(clients.map((client) => client.dispose()));
    await t.stop();
  });

  it('refuses a fourth stream on any connection with RATE_LIMITED, and admits one again once a stream ends', async () => {
    const first = wsClient(t.url, user.token);
    const second = wsClient(t.url, user.token);
    clients.push(first, second);
    const a = wsSubscribe(first, MY_QUEUE);
    const b = wsSubscribe(first, MY_QUEUE);
    const sse = sseSubscribe(t.url, user.token, MY_QUEUE);
    expect(await Promise.all([firstOutcome(a), firstOutcome(b), firstOutcome(sse)])).toEqual(['DATA', 'DATA', 'DATA']);

    // A new connection does not get around it.
    expect(await firstOutcome(wsSubscribe(second, MY_QUEUE))).toBe('RATE_LIMITED');
    // Nor does SSE.
    expect(await firstOutcome(sseSubscribe(t.url, user.token, MY_QUEUE))).toBe('RATE_LIMITED');
    // Another user is not affected.
    const bystander = wsClient(t.url, other.token);
    clients.push(bystander);
    expect(await firstOutcome(wsSubscribe(bystander, MY_QUEUE))).toBe('DATA');

    // The SSE client goes away: its slot frees once the server notices.
    sse.close();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const outcome = await firstOutcome(wsSubscribe(second, MY_QUEUE));
      if (outcome === 'DATA') break;
      expect(outcome).toBe('RATE_LIMITED');
      if (Date.now() > deadline) throw new Error('the closed SSE stream never freed its slot');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    a.unsubscribe();
    b.unsubscribe();
  });
});

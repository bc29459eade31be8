// At most `max` subscriptions open at once on one graphql-ws connection, so one socket cannot
// hold unbounded streams (each keeps timers and bus listeners on the server).
import { GraphQLError } from 'graphql';

/** The part of a graphql-ws server context this needs: its in-flight operations by id. */
interface Connection {
  readonly subscriptions: Readonly<Record<string, unknown>>;
}

export class SubscriptionCap {
  /**
   * Ids of the subscription operations admitted on each connection. graphql-ws's own
   * `ctx.subscriptions` is the truth about which operations are still in flight: it deletes
   * an id when the operation completes, fails, is completed by the client, or the socket
   * closes, on every path. So instead of counting up and down in hooks (onComplete is not
   * called on every path, and a client may reuse an id before the old stream has finished
   * returning), each admission drops the ids graphql-ws no longer holds, then counts. A
   * closed connection's entry goes with its context (WeakMap).
   */
  private readonly open = new WeakMap<Connection, Set<string>>();

  constructor(readonly max: number) {}

  /**
   * Admits subscription `id` on `connection`, or returns the error to refuse it with (the
   * connection and its other subscriptions stay up). Call it synchronously once the
   * operation is known to be a subscription, before any await, so concurrent subscribe
   * messages cannot both take the last slot.
   */
  admit(connection: Connection, id: string): GraphQLError | undefined {
    let ids = this.open.get(connection);
    if (!ids) this.open.set(connection, (ids = new Set()));
    for (const other of ids) if (!(other in connection.subscriptions)) ids.delete(other);
    ids.delete(id);
    if (ids.size >= this.max) {
      return new GraphQLError(
        `too many subscriptions: at most ${this.max} may be open at once on one connection; complete one first`,
        { extensions: { code: 'RATE_LIMITED', maxSubscriptions: this.max } },
      );
    }
    ids.add(id);
    return undefined;
  }
}

// buildApp(config) wires the layers together and returns { start, stop }; src/main.ts only
// calls it. One port serves everything: GraphQL over HTTP (+ GraphiQL) and SSE through
// graphql-yoga, graphql-ws on the same path, and /healthz, /readyz, /metrics.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getOperationAST, GraphQLError, type ExecutionArgs } from 'graphql';
import { EnvelopArmorPlugin } from '@escape.tech/graphql-armor';
import { createYoga } from 'graphql-yoga';
import { useServer } from 'graphql-ws/use/ws';
import { WebSocketServer, type WebSocket } from 'ws';
import type { Config } from '../config.ts';
import { systemClock, type Clock } from '../domain/clock.ts';
import { AutoscaleLoop } from '../dispatcher/autoscale-loop.ts';
import { Dispatcher } from '../dispatcher/dispatcher.ts';
import { busEvents, createEventBus } from '../events/bus.ts';
import type { Context, Services } from '../graphql/context.ts';
import { contractCodesPlugin, createErrorMasker } from '../graphql/errors.ts';
import { rateLimitPlugin } from '../graphql/rate-limit.ts';
import { requestErrorsPlugin } from '../graphql/request-errors.ts';
import { schema } from '../graphql/schema/index.ts';
import { createLogger, type Logger } from '../log.ts';
import { AuthService } from '../service/auth.ts';
import { JobService } from '../service/jobs.ts';
import { QueueService } from '../service/queue.ts';
import { RemoteService } from '../service/remote.ts';
import { loadSchedulingSettings, SchedulingService } from '../service/scheduling.ts';
import { StreamService } from '../service/streams.ts';
import { bearerToken } from '../service/tokens.ts';
import { openDatabase } from '../store/client.ts';
import type { GroupCommitter } from '../store/group-commit.ts';
import { PrismaStore } from '../store/prisma-store.ts';
import { renderMetrics } from './metrics.ts';
import { SubscriptionCap } from './subscription-cap.ts';

export interface App {
  services: Services;
  /**
   * Listens on config.port (0 = any free port), then makes sure an admin exists. Resolves
   * with the URL of /graphql and, when this start created the admin, its clear token (to
   * show once). The admin is created only once the port is ours, so a failed start never
   * swallows the one chance to see its token.
   */
  start(): Promise<{ url: string; createdAdminToken?: string }>;
  /** Graceful stop: no new assignments, running jobs recorded, every write committed. */
  stop(): Promise<void>;
}

export interface AppOptions {
  log?: Logger;
  clock?: Clock;
  /** Called when a state change cannot be made durable; default: log and exit(1). */
  onFatal?: (error: unknown) => void;
}

const GRAPHIQL_QUERY = `# Welcome to Jobline.
# 1. Open the Headers tab below and put your token in:
#      { "Authorization": "Bearer <token>" }
#    The admin token is JOBLINE_ADMIN_TOKEN, or the one the server printed at its first start;
#    createUser returns a token for each new user.
# 2. Run this query (the ▶ button).
query Overview {
  me { id name role }
  queueState {
    policy queuedCount runningCount
    processors { name state jobsCompleted busyMs currentJob { jobId elapsedMs } }
  }
}

# Then try:
# mutation { submitJob(input: { jobId: "hello-1", durationMs: 3000 }) { id state queuePosition } }
# subscription { jobProgress(jobId: "hello-1") { state elapsedMs progress queuePosition at } }
`;

export async function buildApp(config: Config, options: AppOptions = {}): Promise<App> {
  const log = options.log ?? createLogger(config.logLevel);
  const clock = options.clock ?? systemClock;
  const { db, writer, applied } = await openDatabase(config);
  if (applied.length > 0) log.info('migrations applied', { applied });

  const store = new PrismaStore(db, writer);
  const bus = createEventBus();
  const onFatal =
    options.onFatal ??
    ((error: unknown) => {
      log.error('a state change could not be made durable; exiting so a restart recovers', { error: String(error) });
      process.exit(1);
    });
  const write = <T,>(work: Parameters<typeof store.write<T>>[0]) => store.write(work);
  const scheduling = await loadSchedulingSettings(db, config, log.scope('scheduling')).catch(
    async (error: unknown) => {
      // A bad rules file or autoscale setting: let go of the database before giving up.
      await store.committer.idle();
      await Promise.all([db.$disconnect(), writer.$disconnect()]);
      throw error;
    },
  );
  const dispatcher = new Dispatcher({
    store,
    events: busEvents(bus),
    policy: scheduling.policy,
    rules: scheduling.rules,
    clock,
    log: log.scope('dispatcher'),
    checkpointMs: config.progressIntervalMs,
    leaseMs: config.leaseMs,
    retry: { baseMs: config.retryBaseMs, maxMs: config.retryMaxMs },
    onFatal,
  });
  const auth = new AuthService(db, write);
  await dispatcher.start(config.processors);
  const autoscaler = new AutoscaleLoop(
    dispatcher,
    scheduling.autoscale,
    clock,
    log.scope('autoscale'),
    config.autoscaleIntervalMs,
  );
  autoscaler.start();

  const jobs = new JobService(db, dispatcher, config.limits, config.myQueueLimit);
  const services: Services = {
    config,
    db,
    dispatcher,
    auth,
    jobs,
    queue: new QueueService(db, dispatcher, config.limits),
    remote: new RemoteService(db, dispatcher, { ...config.limits, maxClaimWaitMs: config.maxClaimWaitMs }),
    scheduling: new SchedulingService(
      write,
      dispatcher,
      autoscaler,
      config.limits.maxProcessors,
      scheduling,
      log.scope('scheduling'),
    ),
    streams: new StreamService(db, bus, jobs, config.progressIntervalMs, config.maxStreamsPerUser),
  };
  const maskError = createErrorMasker(log.scope('graphql'));

  const yoga = createYoga<{ connectionParams?: Record<string, unknown> }, Context>({
    schema,
    graphqlEndpoint: '/graphql',
    landingPage: false,
    // Unexpected errors are logged by the error masker; expected ones (bad input, auth) are not noise.
    logging: config.logLevel === 'debug' ? 'debug' : false,
    maskedErrors: { maskError },
    plugins: [
      // Bounds on the operation itself, checked before execution (over HTTP, SSE and WS):
      // introspection (GraphiQL) stays allowed.
      EnvelopArmorPlugin({
        maxDepth: { n: 12, ignoreIntrospection: true },
        maxAliases: { n: 30 },
        maxTokens: { n: 5000 },
        maxDirectives: { n: 20 },
        costLimit: { maxCost: 10_000 },
        blockFieldSuggestion: { enabled: false },
      }),
      contractCodesPlugin(),
      requestErrorsPlugin(),
      // Per-user mutation rate limit, checked in execute for every transport.
      rateLimitPlugin({ USER: config.rateLimit, PROCESSOR: config.processorRateLimit }, clock),
    ],
    graphiql: {
      title: 'Jobline',
      defaultQuery: GRAPHIQL_QUERY,
      headers: JSON.stringify({ Authorization: 'Bearer <paste your token here>' }, null, 2),
      subscriptionsProtocol: 'WS',
    },
    context: async ({ request, connectionParams }) => {
      const header =
        (connectionParams?.authorization as string | undefined) ??
        (connectionParams?.Authorization as string | undefined) ??
        request?.headers.get('authorization');
      const token = bearerToken(typeof header === 'string' ? header : undefined);
      return { caller: token ? await auth.authenticate(token) : undefined, services, signal: request?.signal };
    },
  });

  let stopping = false;
  const server = createServer((req, res) => void route(req, res));

  async function route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/healthz') return json(res, 200, { status: 'ok' });
    if (path === '/metrics') {
      res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
      return void res.end(renderMetrics(dispatcher, store.committer as GroupCommitter<unknown>));
    }
    if (path === '/readyz') {
      if (stopping) return json(res, 503, { status: 'stopping' });
      try {
        await db.$queryRawUnsafe('SELECT 1');
        return json(res, 200, { status: 'ready' });
      } catch {
        return json(res, 503, { status: 'database unreachable' });
      }
    }
    if (req.method === 'POST') {
      const length = Number(req.headers['content-length'] ?? NaN);
      if (!Number.isFinite(length)) {
        return graphqlError(res, 411, 'send a Content-Length header with the request body');
      }
      if (length > config.maxBodyBytes) {
        return graphqlError(res, 413, `the request body is ${length} bytes; the limit is ${config.maxBodyBytes}`);
      }
    }
    return yoga(req, res);
  }

  /** graphql-ws on the same port and path; attached once the port is ours. */
  function attachWebSockets() {
    const subscriptionCap = new SubscriptionCap(config.maxSubscriptionsPerConnection);
    const wss = new WebSocketServer({ server, path: yoga.graphqlEndpoint, maxPayload: config.maxBodyBytes });
    const wsServer = useServer(
      {
        execute: (args: ExecutionArgs) => (args.rootValue as Enveloped).execute(args),
        subscribe: (args: ExecutionArgs) => (args.rootValue as Enveloped).subscribe(args),
        // Through yoga's envelop, so error masking and auth apply to WebSocket operations too.
        onSubscribe: async (ctx, id, params) => {
          const enveloped = yoga.getEnveloped({
            ...ctx,
            req: ctx.extra.request,
            socket: ctx.extra.socket,
            params,
          });
          let document;
          let errors: readonly GraphQLError[];
          try {
            document = enveloped.parse(params.query);
            // graphql-armor throws (not returns) when an operation is over its limits; a
            // throw here would make graphql-ws close the whole connection.
            errors = enveloped.validate(enveloped.schema, document);
          } catch (error) {
            return [maskError(error) as GraphQLError];
          }
          if (errors.length > 0) return errors.map((e: GraphQLError) => maskError(e) as GraphQLError);
          const operation = getOperationAST(document, params.operationName);
          if (!operation) {
            const names = params.operationName ? `no operation named "${params.operationName}"` : 'several operations';
            return [new GraphQLError(`the document has ${names}: name the one to run in operationName`, { extensions: { code: 'BAD_USER_INPUT' } })];
          }
          // Before any await: two subscribe messages must not both take the last slot.
          if (operation.operation === 'subscription') {
            const refused = subscriptionCap.admit(ctx, id);
            if (refused) return [refused];
          }
          // A claimJob long poll over the socket ends when the socket closes.
          const contextValue = (await enveloped.contextFactory()) as Context;
          contextValue.signal = socketClosed(ctx.extra.socket);
          return {
            schema: enveloped.schema,
            operationName: params.operationName,
            document,
            variableValues: params.variables,
            contextValue,
            rootValue: { execute: enveloped.execute, subscribe: enveloped.subscribe },
          };
        },
      },
      wss,
    );
    return wsServer;
  }
  let wsServer: ReturnType<typeof useServer> | undefined;

  return {
    services,
    start: async () => {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(config.port, config.host, () => resolve());
      });
      wsServer = attachWebSockets();
      const { createdToken } = await auth.bootstrapAdmin(config.adminToken);
      const { port } = server.address() as AddressInfo;
      const host = config.host === '0.0.0.0' || config.host === '::' ? 'localhost' : config.host;
      return { url: `http://${host}:${port}/graphql`, createdAdminToken: createdToken };
    },
    stop: async () => {
      if (stopping) return;
      stopping = true;
      autoscaler.stop();
      await dispatcher.stop();
      await wsServer?.dispose();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      dispatcher.close();
      await store.committer.idle();
      await Promise.all([db.$disconnect(), writer.$disconnect()]);
    },
  };
}

type OperationResult = ReturnType<NonNullable<Parameters<typeof useServer>[0]['execute']>>;

interface Enveloped {
  execute: (args: ExecutionArgs) => OperationResult;
  subscribe: (args: ExecutionArgs) => OperationResult;
}

const closedSignals = new WeakMap<WebSocket, AbortSignal>();

/** Aborts when the socket closes; one per socket, however many operations it carries. */
function socketClosed(socket: WebSocket): AbortSignal {
  let signal = closedSignals.get(socket);
  if (!signal) {
    const controller = new AbortController();
    socket.once('close', () => controller.abort());
    signal = controller.signal;
    closedSignals.set(socket, signal);
  }
  return signal;
}

function json(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/**
 * A refusal sent before the request body was read. `connection: close`: the unread body
 * makes the connection unusable, and a client that reused it for its next request would
 * see that request fail with a reset instead of an answer.
 */
function graphqlError(res: ServerResponse, status: number, message: string): void {
  json(res, status, { errors: [{ message, extensions: { code: 'BAD_USER_INPUT' } }] }, { connection: 'close' });
}

// The per-user mutation rate limit, as an envelop plugin: it runs in `execute`, which every
// transport goes through (HTTP, SSE, and graphql-ws via yoga.getEnveloped), after the
// context knows the caller and before any resolver runs — a refused request does nothing.
import {
  getOperationAST,
  GraphQLError,
  Kind,
  type DocumentNode,
  type FieldNode,
  type FragmentDefinitionNode,
  type SelectionSetNode,
} from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Clock } from '../domain/clock.ts';
import { TokenBuckets, type RateLimitSettings } from '../domain/rate-limit.ts';
import type { Context } from './context.ts';

/**
 * One budget per role; `perSecond` 0 turns a role's limit off. Admins are not limited
 * (operators must be able to act during a flood). PROCESSOR tokens get their own, larger
 * budget: a fleet of workers often shares one token and speaks in short mutations (claim,
 * heartbeat, complete). Unauthenticated mutations are not counted: they fail
 * authentication anyway and have no user to charge.
 */
export function rateLimitPlugin(
  limits: Record<'USER' | 'PROCESSOR', RateLimitSettings>,
  clock: Clock,
): Plugin<Context> {
  const budgets = new Map(
    (['USER', 'PROCESSOR'] as const)
      .filter((role) => limits[role].perSecond > 0)
      .map((role) => [role, { settings: limits[role], buckets: new TokenBuckets(limits[role]) }]),
  );
  if (budgets.size === 0) return {};
  return {
    onExecute({ args, setResultAndStopExecution }) {
      const context = args.contextValue as Partial<Context> & { request?: unknown };
      const caller = context.caller;
      const budget = caller && caller.role !== 'ADMIN' ? budgets.get(caller.role) : undefined;
      if (!caller || !budget) return;
      const { settings, buckets } = budget;
      const operation = getOperationAST(args.document, args.operationName);
      if (operation?.operation !== 'mutation') return;

      const cost = mutationCost(args.document, operation.selectionSet, args.variableValues);
      const decision = buckets.take(caller.id, cost, clock.now());
      if (decision.allowed) return;
      if ('exceedsBurst' in decision) {
        return setResultAndStopExecution({
          errors: [
            new GraphQLError(
              `this request costs ${cost} (one per mutation, one per ${JOBS_PER_TOKEN} jobs of a submitJobs batch); ` +
                `at most ${settings.burst} fit in one request under the rate limit (${settings.perSecond} per second ` +
                `per user) — send smaller requests`,
              { extensions: { code: 'BAD_USER_INPUT' } },
            ),
          ],
        });
      }
      const { retryAfterMs } = decision;
      setResultAndStopExecution({
        errors: [
          new GraphQLError(
            `too many requests: ${settings.perSecond} mutations per second per user (bursts of up to ${settings.burst}); ` +
              `retry in ${retryAfterMs} ms`,
            {
              extensions: {
                code: 'RATE_LIMITED',
                retryAfterMs,
                // HTTP only (yoga strips `http` from the body it sends): status 429 with
                // Retry-After in whole seconds, so plain HTTP clients and proxies back off
                // too. graphql-ws would send `http` to the client as is, so it gets none.
                ...(context.request !== undefined && {
                  http: { status: 429, headers: { 'retry-after': String(Math.ceil(retryAfterMs / 1000)) } },
                }),
              },
            },
          ),
        ],
      });
    },
  };
}

/** Jobs in a `submitJobs` batch that cost as much as one mutation. */
export const JOBS_PER_TOKEN = 10;

/**
 * What one operation costs: its root fields, each alias counted (`a: submitJob … b:
 * submitJob …` is two mutations), fragments followed, and a `submitJobs` batch one per
 * started ten jobs (so the limit bounds the jobs a user can add, not only its requests).
 * The same response key twice is one field to GraphQL — it runs once — so it counts once.
 * Fields under @skip/@include count too: a conservative charge for an edge no real client
 * relies on.
 */
export function mutationCost(
  document: DocumentNode,
  selectionSet: SelectionSetNode,
  variables: Readonly<Record<string, unknown>> | null | undefined = {},
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  const costs = new Map<string, number>();
  const seen = new Set<string>();
  const visit = (set: SelectionSetNode) => {
    for (const selection of set.selections) {
      if (selection.kind === Kind.FIELD) costs.set((selection.alias ?? selection.name).value, fieldCost(selection, variables ?? {}));
      else if (selection.kind === Kind.INLINE_FRAGMENT) visit(selection.selectionSet);
      else if (!seen.has(selection.name.value)) {
        // Validation has already refused unknown and cyclic fragments; `seen` is a guard.
        seen.add(selection.name.value);
        const fragment = fragments.get(selection.name.value);
        if (fragment) visit(fragment.selectionSet);
      }
    }
  };
  visit(selectionSet);
  let total = 0;
  for (const cost of costs.values()) total += cost;
  return total;
}

function fieldCost(field: FieldNode, variables: Readonly<Record<string, unknown>>): number {
  if (field.name.value !== 'submitJobs') return 1;
  const input = field.arguments?.find((argument) => argument.name.value === 'input')?.value;
  const jobs =
    input?.kind === Kind.LIST
      ? input.values.length
      : input?.kind === Kind.VARIABLE && Array.isArray(variables[input.name.value])
        ? (variables[input.name.value] as unknown[]).length
        : 1;
  return Math.max(1, Math.ceil(jobs / JOBS_PER_TOKEN));
}

// The only place with plugins, the context type, scalars and auth scopes.
import SchemaBuilder from '@pothos/core';
import PrismaPlugin from '@pothos/plugin-prisma';
import RelayPlugin from '@pothos/plugin-relay';
import ScopeAuthPlugin from '@pothos/plugin-scope-auth';
import { DateTimeResolver } from 'graphql-scalars';
import { ForbiddenError, UnauthenticatedError } from '../domain/errors.ts';
import type PrismaTypes from '../generated/pothos-types.ts';
import { getDatamodel } from '../generated/pothos-types.ts';
import type { Context } from './context.ts';
import { BoundedJSON } from './json-scalar.ts';

export const builder = new SchemaBuilder<{
  PrismaTypes: PrismaTypes;
  Context: Context;
  AuthScopes: {
    /** Any valid token. */
    authenticated: boolean;
    admin: boolean;
    /** May submit and manage its own jobs: USER or ADMIN. */
    submitter: boolean;
    /** May register remote processors and report on their leases: PROCESSOR or ADMIN. */
    processor: boolean;
  };
  Scalars: {
    DateTime: { Input: Date; Output: Date };
    JSON: { Input: unknown; Output: unknown };
    ID: { Input: string; Output: string | number };
  };
  DefaultFieldNullability: false;
  DefaultInputFieldRequiredness: true;
}>({
  defaultFieldNullability: false,
  defaultInputFieldRequiredness: true,
  plugins: [ScopeAuthPlugin, RelayPlugin, PrismaPlugin],
  scopeAuth: {
    authorizeOnSubscribe: true,
    authScopes: (ctx) => ({
      authenticated: !!ctx.caller,
      admin: ctx.caller?.role === 'ADMIN',
      submitter: ctx.caller?.role === 'ADMIN' || ctx.caller?.role === 'USER',
      processor: ctx.caller?.role === 'ADMIN' || ctx.caller?.role === 'PROCESSOR',
    }),
    unauthorizedError: (_parent, ctx, info, result) => {
      if (!ctx.caller) return new UnauthenticatedError('a valid token is required: send "Authorization: Bearer <token>"');
      const failure = result.failure as { kind?: string; scope?: string; failures?: Array<{ scope?: string }> };
      const scope = failure.scope ?? failure.failures?.find((f) => f.scope)?.scope;
      const needs =
        scope === 'admin'
          ? 'the ADMIN role'
          : scope === 'submitter'
            ? 'the ADMIN or USER role'
            : scope === 'processor'
              ? 'the ADMIN or PROCESSOR role'
              : 'another role';
      return new ForbiddenError(`${info.fieldName} needs ${needs}; this token's role is ${ctx.caller.role}`);
    },
  },
  relay: {
    clientMutationId: 'omit',
    cursorType: 'String',
    nodeQueryOptions: false,
    nodesQueryOptions: false,
  },
  prisma: {
    client: (ctx) => ctx.services.db,
    dmmf: getDatamodel(),
    filterConnectionTotalCount: true,
    onUnusedQuery: null,
  },
});

builder.addScalarType('DateTime', DateTimeResolver);
builder.addScalarType('JSON', BoundedJSON);

/** GraphQL Int is 32-bit: clamp counters that can outgrow it (e.g. busy milliseconds). */
export function clampInt(value: number): number {
  return Math.min(2_147_483_647, Math.max(-2_147_483_648, Math.round(value)));
}

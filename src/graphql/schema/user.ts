import type { CreatedUser } from '../../service/auth.ts';
import { builder } from '../builder.ts';
import { RoleEnum } from './enums.ts';

export const UserRef = builder.prismaObject('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    tier: t.exposeString('tier', { nullable: true }),
    weight: t.exposeFloat('weight'),
    maxConcurrent: t.exposeInt('maxConcurrent', { nullable: true }),
    role: t.expose('role', { type: RoleEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    id: t.id({ required: false, description: 'Chosen id (1–64 of A–Z a–z 0–9 . _ -); generated when absent.' }),
    name: t.string({ description: 'Unique display name, 1–100 characters.' }),
    tier: t.string({ required: false }),
    weight: t.float({ required: false, description: 'Share of processor time (default 1, at most 1000).' }),
    maxConcurrent: t.int({ required: false, description: 'Most jobs of this user running at once.' }),
    role: t.field({ type: RoleEnum, required: false, description: 'Default USER.' }),
  }),
});

const CreateUserPayload = builder.objectRef<CreatedUser>('CreateUserPayload').implement({
  fields: (t) => ({
    user: t.field({ type: UserRef, resolve: (payload) => payload.user }),
    token: t.exposeString('token', { description: 'The clear API token. Shown only here: store it.' }),
  }),
});

builder.queryFields((t) => ({
  me: t.prismaField({
    type: 'User',
    authScopes: { authenticated: true },
    resolve: (query, _root, _args, ctx) =>
      ctx.services.db.user.findUniqueOrThrow({ ...query, where: { id: ctx.caller!.id } }),
  }),
  users: t.prismaField({
    type: ['User'],
    authScopes: { admin: true },
    resolve: (query, _root, _args, ctx) => ctx.services.db.user.findMany({ ...query, orderBy: { createdAt: 'asc' } }),
  }),
}));

builder.mutationFields((t) => ({
  createUser: t.field({
    type: CreateUserPayload,
    authScopes: { admin: true },
    args: { input: t.arg({ type: CreateUserInput, required: true }) },
    resolve: async (_root, { input }, ctx) => {
      const created = await ctx.services.auth.createUser(input);
      if (created.user.maxConcurrent != null) {
        ctx.services.dispatcher.setUserLimit(created.user.id, created.user.maxConcurrent);
      }
      return created;
    },
  }),
}));

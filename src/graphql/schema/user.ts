import type { CreatedUser } from '../../service/auth.ts';
import { builder } from '../builder.ts';
import { RoleEnum } from './enums.ts';

export const UserRef = builder.prismaObject('User', {
  fields: (t) => ({
    id: t.exposeID('id'),
    name: t.exposeString('name'),
    tier: t.exposeString('tier', { nullable: true }),
    weight: t.float({
      description: 'Effective weight (rules and own setting combined; see schedule).',
      resolve: (user, _args, ctx) => ctx.services.dispatcher.settingsOf(user.id).weight,
    }),
    maxConcurrent: t.int({
      nullable: true,
      description: 'Effective cap on running jobs; null: no cap.',
      resolve: (user, _args, ctx) => ctx.services.dispatcher.settingsOf(user.id).maxConcurrent ?? null,
    }),
    ownWeight: t.exposeFloat('weight', { nullable: true, description: 'The user’s own weight setting; null: rules decide.' }),
    ownMaxConcurrent: t.exposeInt('maxConcurrent', {
      nullable: true,
      description: 'The user’s own maxConcurrent setting; null: rules decide.',
    }),
    role: t.expose('role', { type: RoleEnum }),
    createdAt: t.expose('createdAt', { type: 'DateTime' }),
  }),
});

const CreateUserInput = builder.inputType('CreateUserInput', {
  fields: (t) => ({
    id: t.id({ required: false, description: 'Chosen id (1–64 of A–Z a–z 0–9 . _ -); generated when absent.' }),
    name: t.string({ description: 'Unique display name, 1–100 characters.' }),
    tier: t.string({ required: false }),
    weight: t.float({
      required: false,
      description: 'Own share of processor time (0.001–1000); overrides the tier rule. Absent: rules decide (default 1).',
    }),
    maxConcurrent: t.int({ required: false, description: 'Own cap on running jobs (1–10000); overrides the tier rule.' }),
    role: t.field({ type: RoleEnum, required: false, description: 'Default USER.' }),
  }),
});

const UpdateUserInput = builder.inputType('UpdateUserInput', {
  fields: (t) => ({
    tier: t.string({ required: false }),
    weight: t.float({ required: false, description: 'Own weight (0.001–1000); null: rules decide.' }),
    maxConcurrent: t.int({ required: false, description: 'Own cap (1–10000); null: rules decide.' }),
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
      ctx.services.dispatcher.setUser(created.user.id, created.user);
      return created;
    },
  }),
  updateUser: t.prismaField({
    type: 'User',
    authScopes: { admin: true },
    description: 'Changes a user’s tier and own settings (null clears one; absent keeps it). Applies at once.',
    args: { id: t.arg.id({ required: true }), input: t.arg({ type: UpdateUserInput, required: true }) },
    resolve: async (query, _root, { id, input }, ctx) => {
      const user = await ctx.services.auth.updateUser(String(id), input);
      ctx.services.dispatcher.setUser(user.id, user);
      return ctx.services.db.user.findUniqueOrThrow({ ...query, where: { id: user.id } });
    },
  }),
}));

import type { RuleSettings, Rules, TierRule, UserRule } from '../../domain/rules.ts';
import { builder } from '../builder.ts';

interface RulesView {
  rules: Rules;
  updatedAt: Date | null;
}

const settingFields = {
  weight: 'Share of processor time relative to other users (0.001–1000); null: not set here.',
  maxConcurrent: 'Most jobs running at once (1–10000); null: not set here.',
};

const RuleSettingsRef = builder.objectRef<RuleSettings>('RuleSettings').implement({
  fields: (t) => ({
    weight: t.float({ nullable: true, description: settingFields.weight, resolve: (r) => r.weight ?? null }),
    maxConcurrent: t.int({ nullable: true, description: settingFields.maxConcurrent, resolve: (r) => r.maxConcurrent ?? null }),
  }),
});

const TierRuleRef = builder.objectRef<TierRule>('TierRule').implement({
  description: 'Settings for every user of a tier (a user’s own settings override them).',
  fields: (t) => ({
    tier: t.exposeString('tier'),
    weight: t.float({ nullable: true, description: settingFields.weight, resolve: (r) => r.weight ?? null }),
    maxConcurrent: t.int({ nullable: true, description: settingFields.maxConcurrent, resolve: (r) => r.maxConcurrent ?? null }),
  }),
});

const UserRuleRef = builder.objectRef<UserRule>('UserRule').implement({
  description: 'Settings for one user id: the most specific rule, it overrides everything else.',
  fields: (t) => ({
    userId: t.exposeID('userId'),
    weight: t.float({ nullable: true, description: settingFields.weight, resolve: (r) => r.weight ?? null }),
    maxConcurrent: t.int({ nullable: true, description: settingFields.maxConcurrent, resolve: (r) => r.maxConcurrent ?? null }),
  }),
});

const RulesRef = builder.objectRef<RulesView>('Rules').implement({
  description:
    'Scheduling rules. For each setting the most specific source wins: a rule for the user id, the user’s own setting, a rule for its tier, the default rule, then built in (weight 1, no cap).',
  fields: (t) => ({
    default: t.field({ type: RuleSettingsRef, resolve: (v) => v.rules.default }),
    tiers: t.field({ type: [TierRuleRef], resolve: (v) => v.rules.tiers }),
    users: t.field({ type: [UserRuleRef], resolve: (v) => v.rules.users }),
    updatedAt: t.field({ type: 'DateTime', nullable: true, resolve: (v) => v.updatedAt }),
  }),
});

const RuleSettingsInput = builder.inputType('RuleSettingsInput', {
  fields: (t) => ({
    weight: t.float({ required: false, description: settingFields.weight }),
    maxConcurrent: t.int({ required: false, description: settingFields.maxConcurrent }),
  }),
});

const TierRuleInput = builder.inputType('TierRuleInput', {
  fields: (t) => ({
    tier: t.string(),
    weight: t.float({ required: false }),
    maxConcurrent: t.int({ required: false }),
  }),
});

const UserRuleInput = builder.inputType('UserRuleInput', {
  fields: (t) => ({
    userId: t.id(),
    weight: t.float({ required: false }),
    maxConcurrent: t.int({ required: false }),
  }),
});

const RulesInput = builder.inputType('RulesInput', {
  description: 'A whole rule set: it replaces the current one (up to 10,000 tier and user rules).',
  fields: (t) => ({
    default: t.field({ type: RuleSettingsInput, required: false }),
    tiers: t.field({ type: [TierRuleInput], required: false }),
    users: t.field({ type: [UserRuleInput], required: false }),
  }),
});

builder.queryFields((t) => ({
  rules: t.field({
    type: RulesRef,
    authScopes: { admin: true },
    resolve: (_root, _args, ctx) => ctx.services.scheduling.rules(),
  }),
}));

builder.mutationFields((t) => ({
  setRules: t.field({
    type: RulesRef,
    authScopes: { admin: true },
    description: 'Replaces the rules; queued work is re-weighted at once. Invalid rules change nothing.',
    args: { input: t.arg({ type: RulesInput, required: true }) },
    resolve: (_root, { input }, ctx) => ctx.services.scheduling.setRules(input),
  }),
}));

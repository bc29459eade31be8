// Scheduling rules: they turn user attributes into the settings the policy uses.
//
// For each setting (weight, maxConcurrent) separately, the most specific source that
// sets it wins:
//   1. a rule for the user's id,
//   2. the user's own setting (createUser / updateUser),
//   3. a rule for the user's tier,
//   4. the default rule,
//   5. built in: weight 1, no cap.
import { BadInputError } from './errors.ts';
import type { UserSettings } from './policy.ts';
import { MAX_CONCURRENT_CAP, MAX_TIER_LENGTH, MAX_WEIGHT, MIN_WEIGHT, USER_ID_PATTERN } from './validation.ts';

export interface RuleSettings {
  weight?: number | null;
  maxConcurrent?: number | null;
}
export interface TierRule extends RuleSettings {
  tier: string;
}
export interface UserRule extends RuleSettings {
  userId: string;
}
export interface Rules {
  default: RuleSettings;
  tiers: TierRule[];
  users: UserRule[];
}

export const NO_RULES: Rules = { default: {}, tiers: [], users: [] };
export const MAX_RULES = 10_000;
const TIER_PATTERN = /^[A-Za-z0-9._-]{1,64}$/;

/** What the rules need to know about a user. */
export interface UserAttributes {
  tier: string | null;
  weight: number | null;
  maxConcurrent: number | null;
}

/** Settings with the source of each, for explanations. */
export interface ResolvedSettings extends UserSettings {
  weightSource: string;
  maxConcurrentSource: string;
}

function bad(where: string, message: string): never {
  throw new BadInputError(`${where}: ${message}`, { field: where });
}

function checkSettings(value: RuleSettings, where: string): RuleSettings {
  const { weight, maxConcurrent } = value;
  if (weight !== undefined && weight !== null) {
    if (typeof weight !== 'number' || !Number.isFinite(weight) || weight < MIN_WEIGHT || weight > MAX_WEIGHT) {
      bad(where, `weight must be a number from ${MIN_WEIGHT} to ${MAX_WEIGHT} (got ${JSON.stringify(weight)})`);
    }
  }
  if (maxConcurrent !== undefined && maxConcurrent !== null) {
    if (typeof maxConcurrent !== 'number' || !Number.isInteger(maxConcurrent) || maxConcurrent < 1 || maxConcurrent > MAX_CONCURRENT_CAP) {
      bad(where, `maxConcurrent must be a whole number from 1 to ${MAX_CONCURRENT_CAP} (got ${JSON.stringify(maxConcurrent)})`);
    }
  }
  return { weight: weight ?? null, maxConcurrent: maxConcurrent ?? null };
}

function checkKeys(value: unknown, allowed: readonly string[], where: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) bad(where, 'must be an object');
  for (const key of Object.keys(value)) {
    if (!allowed.includes(key)) bad(where, `unknown field "${key}" (allowed: ${allowed.join(', ')})`);
  }
  return value as Record<string, unknown>;
}

function checkList(value: unknown, where: string): unknown[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) bad(where, 'must be a list');
  return value;
}

/**
 * Validates rules from GraphQL input or a JSON file. Throws BAD_USER_INPUT naming the
 * first bad entry (e.g. `tiers[2]`); returns normalized rules.
 */
export function validateRules(input: unknown): Rules {
  const root = checkKeys(input, ['default', 'tiers', 'users'], 'rules');
  const tiersIn = checkList(root.tiers, 'tiers');
  const usersIn = checkList(root.users, 'users');
  if (tiersIn.length + usersIn.length > MAX_RULES) {
    bad('rules', `at most ${MAX_RULES} tier and user rules in all (got ${tiersIn.length + usersIn.length})`);
  }
  const defaults =
    root.default === undefined || root.default === null
      ? {}
      : checkSettings(checkKeys(root.default, ['weight', 'maxConcurrent'], 'default') as RuleSettings, 'default');

  const seenTiers = new Set<string>();
  const tiers = tiersIn.map((entry, i) => {
    const where = `tiers[${i}]`;
    const value = checkKeys(entry, ['tier', 'weight', 'maxConcurrent'], where);
    const tier = value.tier;
    if (typeof tier !== 'string' || !TIER_PATTERN.test(tier)) {
      bad(where, `tier must be 1–${MAX_TIER_LENGTH} characters: letters, digits and . _ -`);
    }
    if (seenTiers.has(tier)) bad(where, `tier "${tier}" appears more than once`);
    seenTiers.add(tier);
    return { tier, ...checkSettings(value as RuleSettings, `${where} (tier "${tier}")`) };
  });

  const seenUsers = new Set<string>();
  const users = usersIn.map((entry, i) => {
    const where = `users[${i}]`;
    const value = checkKeys(entry, ['userId', 'weight', 'maxConcurrent'], where);
    const userId = value.userId;
    if (typeof userId !== 'string' || !USER_ID_PATTERN.test(userId)) {
      bad(where, 'userId must be 1–64 characters: letters, digits and . _ - (starting with a letter or digit)');
    }
    if (seenUsers.has(userId)) bad(where, `user "${userId}" appears more than once`);
    seenUsers.add(userId);
    return { userId, ...checkSettings(value as RuleSettings, `${where} (user "${userId}")`) };
  });
  return { default: defaults, tiers, users };
}

/** Rules plus the attributes of every known user; resolves (and caches) users' settings. */
export class RuleBook {
  private rules: Rules = NO_RULES;
  private tiers = new Map<string, TierRule>();
  private userRules = new Map<string, UserRule>();
  private readonly users = new Map<string, UserAttributes>();
  private readonly cache = new Map<string, ResolvedSettings>();

  constructor(rules: Rules = NO_RULES) {
    this.setRules(rules);
  }

  get current(): Rules {
    return this.rules;
  }

  setRules(rules: Rules): void {
    this.rules = rules;
    this.tiers = new Map(rules.tiers.map((rule) => [rule.tier, rule]));
    this.userRules = new Map(rules.users.map((rule) => [rule.userId, rule]));
    this.cache.clear();
  }

  setUser(userId: string, attributes: UserAttributes): void {
    this.users.set(userId, attributes);
    this.cache.delete(userId);
  }

  resolve(userId: string): ResolvedSettings {
    let settings = this.cache.get(userId);
    if (!settings) {
      settings = this.compute(userId);
      this.cache.set(userId, settings);
    }
    return settings;
  }

  private compute(userId: string): ResolvedSettings {
    const user = this.users.get(userId);
    const tierRule = user?.tier ? this.tiers.get(user.tier) : undefined;
    const sources: Array<[string, RuleSettings | undefined]> = [
      [`rule for user "${userId}"`, this.userRules.get(userId)],
      ['user setting', user ?? undefined],
      [`rule for tier "${user?.tier ?? ''}"`, tierRule],
      ['default rule', this.rules.default],
    ];
    const pick = <K extends keyof RuleSettings>(key: K): [NonNullable<RuleSettings[K]>, string] | undefined => {
      for (const [source, settings] of sources) {
        const value = settings?.[key];
        if (value !== undefined && value !== null) return [value as NonNullable<RuleSettings[K]>, source];
      }
      return undefined;
    };
    const [weight, weightSource] = pick('weight') ?? [1, 'built-in default'];
    const [maxConcurrent, maxConcurrentSource] = pick('maxConcurrent') ?? [undefined, 'built-in default (no cap)'];
    return { weight, weightSource, maxConcurrent, maxConcurrentSource };
  }
}

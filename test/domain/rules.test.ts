import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { BadInputError } from '../../src/domain/errors.ts';
import { MAX_RULES, NO_RULES, RuleBook, validateRules, type Rules, type UserAttributes } from '../../src/domain/rules.ts';

/** The message validateRules throws for `input` (fails the test if it throws none or another error). */
function rejection(input: unknown): string {
  try {
    validateRules(input);
  } catch (e) {
    expect(e).toBeInstanceOf(BadInputError);
    return (e as Error).message;
  }
  throw new Error(`accepted: ${JSON.stringify(input)}`);
}

describe('validateRules: valid input', () => {
  it('normalizes every setting to a value or null', () => {
    expect(
      validateRules({
        default: { weight: 2 },
        tiers: [{ tier: 'gold', weight: 5 }, { tier: 'free', maxConcurrent: 1, weight: null }],
        users: [{ userId: 'alice', maxConcurrent: 3 }],
      }),
    ).toEqual({
      default: { weight: 2, maxConcurrent: null },
      tiers: [
        { tier: 'gold', weight: 5, maxConcurrent: null },
        { tier: 'free', weight: null, maxConcurrent: 1 },
      ],
      users: [{ userId: 'alice', weight: null, maxConcurrent: 3 }],
    });
  });

  it('treats missing or null parts as empty', () => {
    expect(validateRules({})).toEqual({ default: {}, tiers: [], users: [] });
    expect(validateRules({ default: null, tiers: null, users: null })).toEqual({ default: {}, tiers: [], users: [] });
  });

  it('accepts the bounds themselves: weight 0.001 and 1000, maxConcurrent 1 and 10000', () => {
    const rules = validateRules({
      tiers: [
        { tier: 'low', weight: 0.001, maxConcurrent: 1 },
        { tier: 'high', weight: 1000, maxConcurrent: 10_000 },
      ],
    });
    expect(rules.tiers.map((t) => [t.weight, t.maxConcurrent])).toEqual([
      [0.001, 1],
      [1000, 10_000],
    ]);
  });

  it('accepts tier names and user ids of every allowed character, up to 64 long', () => {
    const long = 'a'.repeat(64);
    const rules = validateRules({ tiers: [{ tier: 'Gold.tier_2-b' }, { tier: long }, { tier: '-x' }], users: [{ userId: 'A.b_c-9' }, { userId: long }] });
    expect(rules.tiers.map((t) => t.tier)).toEqual(['Gold.tier_2-b', long, '-x']);
    expect(rules.users.map((u) => u.userId)).toEqual(['A.b_c-9', long]);
  });

  it(`accepts ${MAX_RULES} tier and user rules in all`, () => {
    const half = MAX_RULES / 2;
    const rules = validateRules({
      tiers: Array.from({ length: half }, (_, i) => ({ tier: `t${i}`, weight: 2 })),
      users: Array.from({ length: half }, (_, i) => ({ userId: `u${i}`, maxConcurrent: 2 })),
    });
    expect(rules.tiers.length + rules.users.length).toBe(MAX_RULES);
  });

  it('is idempotent: validating normalized rules gives them back', () => {
    const entry = fc.record(
      { weight: fc.option(fc.double({ min: 0.001, max: 1000, noNaN: true }), { nil: null }), maxConcurrent: fc.option(fc.integer({ min: 1, max: 10_000 }), { nil: null }) },
      { requiredKeys: [] },
    );
    const input = fc.record({
      default: entry,
      tiers: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9._-]{1,8}$/), entry), { selector: ([t]) => t, maxLength: 5 }),
      users: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z0-9][a-z0-9._-]{0,7}$/), entry), { selector: ([u]) => u, maxLength: 5 }),
    });
    fc.assert(
      fc.property(input, ({ default: d, tiers, users }) => {
        const once = validateRules({ default: d, tiers: tiers.map(([tier, s]) => ({ tier, ...s })), users: users.map(([userId, s]) => ({ userId, ...s })) });
        expect(validateRules(JSON.parse(JSON.stringify(once)))).toEqual(once);
        expect(once.tiers.map((t) => t.tier)).toEqual(tiers.map(([t]) => t));
        for (const [i, [, s]] of tiers.entries()) {
          expect(once.tiers[i]).toEqual({ tier: tiers[i]![0], weight: s.weight ?? null, maxConcurrent: s.maxConcurrent ?? null });
        }
      }),
      { numRuns: 100 },
    );
  });
});

describe('validateRules: bad input names the entry', () => {
  it('names the tier entry and its tier for a bad weight', () => {
    const message = rejection({ tiers: [{ tier: 'a' }, { tier: 'b' }, { tier: 'gold', weight: 0 }] });
    expect(message).toBe('tiers[2] (tier "gold"): weight must be a number from 0.001 to 1000 (got 0)');
  });

  it('names the user entry and its user for a bad maxConcurrent', () => {
    const message = rejection({ users: [{ userId: 'alice' }, { userId: 'bob', maxConcurrent: 0 }] });
    expect(message).toBe('users[1] (user "bob"): maxConcurrent must be a whole number from 1 to 10000 (got 0)');
  });

  it('names the default rule', () => {
    expect(rejection({ default: { weight: 1001 } })).toMatch(/^default: weight must be a number from 0.001 to 1000 \(got 1001\)$/);
    expect(rejection({ default: { maxConcurrent: 2.5 } })).toMatch(/^default: maxConcurrent must be a whole number/);
  });

  it.each([
    ['0', 0],
    ['just below the minimum', 0.0009],
    ['just above the maximum', 1000.5],
    ['negative', -1],
    ['NaN', Number.NaN],
    ['infinite', Number.POSITIVE_INFINITY],
    ['a string', '2'],
    ['a boolean', true],
  ])('rejects a weight that is %s', (_what, weight) => {
    expect(rejection({ users: [{ userId: 'u1', weight }] })).toMatch(/^users\[0\] \(user "u1"\): weight must be a number from 0\.001 to 1000/);
  });

  it.each([
    ['0', 0],
    ['above 10000', 10_001],
    ['fractional', 1.5],
    ['negative', -3],
    ['a string', '3'],
  ])('rejects a maxConcurrent that is %s', (_what, maxConcurrent) => {
    expect(rejection({ tiers: [{ tier: 'x', maxConcurrent }] })).toMatch(/^tiers\[0\] \(tier "x"\): maxConcurrent must be a whole number from 1 to 10000/);
  });

  it('rejects unknown fields, naming the field and the ones allowed', () => {
    expect(rejection({ default: {}, tier: [] })).toBe('rules: unknown field "tier" (allowed: default, tiers, users)');
    expect(rejection({ default: { weight: 1, tier: 'x' } })).toBe('default: unknown field "tier" (allowed: weight, maxConcurrent)');
    expect(rejection({ tiers: [{ tier: 'x' }, { tier: 'y', userId: 'u' }] })).toBe(
      'tiers[1]: unknown field "userId" (allowed: tier, weight, maxConcurrent)',
    );
    expect(rejection({ users: [{ userId: 'u', max: 3 }] })).toBe('users[0]: unknown field "max" (allowed: userId, weight, maxConcurrent)');
  });

  it('rejects values of the wrong shape', () => {
    for (const root of [null, [], 'rules', 3]) expect(rejection(root)).toBe('rules: must be an object');
    expect(rejection({ tiers: { tier: 'x' } })).toBe('tiers: must be a list');
    expect(rejection({ users: 'alice' })).toBe('users: must be a list');
    expect(rejection({ tiers: [{ tier: 'x' }, 'gold'] })).toBe('tiers[1]: must be an object');
    expect(rejection({ users: [null] })).toBe('users[0]: must be an object');
    expect(rejection({ default: [] })).toBe('default: must be an object');
  });

  it('rejects bad tier names and user ids', () => {
    for (const tier of ['', 'a'.repeat(65), 'has space', 'ü', 7, undefined]) {
      expect(rejection({ tiers: [{ tier }] })).toMatch(/^tiers\[0\]: tier must be 1–64 characters/);
    }
    for (const userId of ['', '-starts-with-dash', '.dot', 'a'.repeat(65), 'a/b', 7, undefined]) {
      expect(rejection({ users: [{ userId }] })).toMatch(/^users\[0\]: userId must be 1–64 characters/);
    }
  });

  it('rejects a tier or user that appears twice, naming the second entry', () => {
    expect(rejection({ tiers: [{ tier: 'gold' }, { tier: 'free' }, { tier: 'gold', weight: 2 }] })).toBe('tiers[2]: tier "gold" appears more than once');
    expect(rejection({ users: [{ userId: 'bob' }, { userId: 'bob' }] })).toBe('users[1]: user "bob" appears more than once');
  });

  it(`rejects more than ${MAX_RULES} tier and user rules in all`, () => {
    const input = {
      tiers: Array.from({ length: MAX_RULES / 2 + 1 }, (_, i) => ({ tier: `t${i}` })),
      users: Array.from({ length: MAX_RULES / 2 }, (_, i) => ({ userId: `u${i}` })),
    };
    expect(rejection(input)).toBe(`rules: at most ${MAX_RULES} tier and user rules in all (got ${MAX_RULES + 1})`);
  });

  it('reports the offending entry as the error’s field', () => {
    try {
      validateRules({ users: [{ userId: 'a' }, { userId: 'b', weight: -1 }] });
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'BAD_USER_INPUT', details: { field: 'users[1] (user "b")' } });
    }
  });
});

// ---- RuleBook ----

const user = (attributes: Partial<UserAttributes> = {}): UserAttributes => ({ tier: null, weight: null, maxConcurrent: null, ...attributes });

const RULES: Rules = validateRules({
  default: { weight: 2, maxConcurrent: 50 },
  tiers: [
    { tier: 'gold', weight: 5, maxConcurrent: 20 },
    { tier: 'free', maxConcurrent: 1 },
  ],
  users: [
    { userId: 'vip', weight: 100 },
    { userId: 'limited', maxConcurrent: 2 },
  ],
});

describe('RuleBook precedence', () => {
  it('falls back to weight 1 and no cap with no rules at all', () => {
    const book = new RuleBook();
    expect(book.current).toBe(NO_RULES);
    expect(book.resolve('anyone')).toEqual({
      weight: 1,
      weightSource: 'built-in default',
      maxConcurrent: undefined,
      maxConcurrentSource: 'built-in default (no cap)',
    });
  });

  it('applies the default rule to a user with no tier and no settings', () => {
    const book = new RuleBook(RULES);
    book.setUser('plain', user());
    expect(book.resolve('plain')).toEqual({ weight: 2, weightSource: 'default rule', maxConcurrent: 50, maxConcurrentSource: 'default rule' });
  });

  it('lets a tier rule beat the default rule, setting by setting', () => {
    const book = new RuleBook(RULES);
    book.setUser('g', user({ tier: 'gold' }));
    book.setUser('f', user({ tier: 'free' }));
    expect(book.resolve('g')).toEqual({ weight: 5, weightSource: 'rule for tier "gold"', maxConcurrent: 20, maxConcurrentSource: 'rule for tier "gold"' });
    // the free tier sets only a cap: the weight still comes from the default rule
    expect(book.resolve('f')).toEqual({ weight: 2, weightSource: 'default rule', maxConcurrent: 1, maxConcurrentSource: 'rule for tier "free"' });
  });

  it('ignores a tier that has no rule', () => {
    const book = new RuleBook(RULES);
    book.setUser('s', user({ tier: 'silver' }));
    expect(book.resolve('s')).toMatchObject({ weightSource: 'default rule', maxConcurrentSource: 'default rule' });
  });

  it('lets the user’s own setting beat its tier rule', () => {
    const book = new RuleBook(RULES);
    book.setUser('g', user({ tier: 'gold', weight: 7 }));
    expect(book.resolve('g')).toEqual({ weight: 7, weightSource: 'user setting', maxConcurrent: 20, maxConcurrentSource: 'rule for tier "gold"' });
  });

  it('lets a rule for the user’s id beat everything else', () => {
    const book = new RuleBook(RULES);
    book.setUser('vip', user({ tier: 'free', weight: 3, maxConcurrent: 9 }));
    book.setUser('limited', user({ tier: 'gold', maxConcurrent: 9 }));
    expect(book.resolve('vip')).toEqual({ weight: 100, weightSource: 'rule for user "vip"', maxConcurrent: 9, maxConcurrentSource: 'user setting' });
    expect(book.resolve('limited')).toEqual({ weight: 5, weightSource: 'rule for tier "gold"', maxConcurrent: 2, maxConcurrentSource: 'rule for user "limited"' });
  });

  it('applies a rule for a user id even to a user it has no attributes for', () => {
    const book = new RuleBook(RULES);
    expect(book.resolve('vip')).toEqual({ weight: 100, weightSource: 'rule for user "vip"', maxConcurrent: 50, maxConcurrentSource: 'default rule' });
  });

  it('picks, for each setting, the first source that sets it (user rule, user setting, tier rule, default rule, built-in)', () => {
    const setting = fc.option(fc.integer({ min: 1, max: 100 }), { nil: null });
    const source = fc.record({ weight: setting, maxConcurrent: setting });
    fc.assert(
      fc.property(source, source, source, source, fc.boolean(), (userRule, own, tierRule, def, hasTier) => {
        const book = new RuleBook(
          validateRules({ default: def, tiers: [{ tier: 't', ...tierRule }], users: [{ userId: 'x', ...userRule }] }),
        );
        book.setUser('x', user({ tier: hasTier ? 't' : null, ...own }));
        const chain: Array<[string, { weight: number | null; maxConcurrent: number | null }]> = [
          ['rule for user "x"', userRule],
          ['user setting', own],
          ...(hasTier ? [['rule for tier "t"', tierRule] as [string, typeof tierRule]] : []),
          ['default rule', def],
        ];
        const expected = (key: 'weight' | 'maxConcurrent') => chain.find(([, s]) => s[key] !== null);
        const got = book.resolve('x');
        const w = expected('weight');
        const c = expected('maxConcurrent');
        expect([got.weight, got.weightSource]).toEqual(w ? [w[1].weight, w[0]] : [1, 'built-in default']);
        expect([got.maxConcurrent, got.maxConcurrentSource]).toEqual(c ? [c[1].maxConcurrent, c[0]] : [undefined, 'built-in default (no cap)']);
      }),
      { numRuns: 300 },
    );
  });
});

describe('RuleBook cache', () => {
  it('recomputes every user after setRules', () => {
    const book = new RuleBook(RULES);
    book.setUser('g', user({ tier: 'gold' }));
    book.setUser('p', user());
    expect(book.resolve('g').weight).toBe(5);
    expect(book.resolve('p').weight).toBe(2);
    const next = validateRules({ tiers: [{ tier: 'gold', weight: 8 }] });
    book.setRules(next);
    expect(book.current).toBe(next);
    expect(book.resolve('g')).toMatchObject({ weight: 8, maxConcurrent: undefined, maxConcurrentSource: 'built-in default (no cap)' });
    expect(book.resolve('p')).toMatchObject({ weight: 1, weightSource: 'built-in default' });
  });

  it('recomputes a user after setUser changes its tier or settings, leaving others alone', () => {
    const book = new RuleBook(RULES);
    book.setUser('a', user({ tier: 'gold' }));
    book.setUser('b', user({ tier: 'gold' }));
    expect(book.resolve('a').weight).toBe(5);
    expect(book.resolve('b').weight).toBe(5);
    book.setUser('a', user({ tier: 'free' }));
    expect(book.resolve('a')).toMatchObject({ weight: 2, maxConcurrent: 1 });
    book.setUser('a', user({ tier: 'free', weight: 0.5 }));
    expect(book.resolve('a')).toMatchObject({ weight: 0.5, weightSource: 'user setting' });
    expect(book.resolve('b')).toMatchObject({ weight: 5, weightSource: 'rule for tier "gold"' });
  });

  it('picks up attributes given after a user was first resolved', () => {
    const book = new RuleBook(RULES);
    expect(book.resolve('late').weight).toBe(2);
    book.setUser('late', user({ tier: 'gold' }));
    expect(book.resolve('late').weight).toBe(5);
  });

  it('returns the same answer until something changes', () => {
    const book = new RuleBook(RULES);
    book.setUser('g', user({ tier: 'gold' }));
    const first = book.resolve('g');
    expect(book.resolve('g')).toEqual(first);
    book.setUser('other', user({ tier: 'free' }));
    expect(book.resolve('g')).toEqual(first);
  });
});

// Operator settings for scheduling: policy, rules and autoscaling. Each change is
// validated, made durable (table Setting), then applied to the running dispatcher, so it
// takes effect at once and survives a restart.
import { readFile, stat } from 'node:fs/promises';
import { ConfigError, type Config } from '../config.ts';
import { AUTOSCALE_OFF, validateAutoscale, type AutoscaleSettings } from '../domain/autoscale.ts';
import { BadInputError } from '../domain/errors.ts';
import { isPolicyName, POLICY_NAMES, type PolicyName } from '../domain/policy.ts';
import { NO_RULES, validateRules, type Rules } from '../domain/rules.ts';
import type { AutoscaleLoop } from '../dispatcher/autoscale-loop.ts';
import type { Dispatcher } from '../dispatcher/dispatcher.ts';
import type { Db } from '../store/client.ts';
import type { Tx } from '../store/prisma-store.ts';
import type { Logger } from '../log.ts';

type Write = <T>(work: (tx: Tx) => Promise<T>) => Promise<T>;

const KEYS = { policy: 'scheduling.policy', rules: 'scheduling.rules', autoscale: 'scheduling.autoscale' } as const;

export interface SchedulingSettings {
  policy: PolicyName;
  rules: Rules;
  rulesUpdatedAt: Date | null;
  autoscale: AutoscaleSettings;
}

async function save(write: Write, key: string, value: unknown): Promise<Date> {
  const text = JSON.stringify(value);
  const row = await write((tx) =>
    tx.setting.upsert({ where: { key }, create: { key, value: text }, update: { value: text } }),
  );
  return row.updatedAt;
}

/**
 * The settings to start with: the environment (JOBLINE_POLICY, JOBLINE_RULES_FILE,
 * JOBLINE_AUTOSCALE_*) wins; otherwise what an admin set last; otherwise the defaults
 * (weighted-fair, no rules, no autoscaling). Environment values are not stored: unset
 * them and the next start uses the admin's settings again.
 */
export async function loadSchedulingSettings(db: Db, config: Config, log: Logger): Promise<SchedulingSettings> {
  const rows = new Map((await db.setting.findMany()).map((row) => [row.key, row]));
  /** A stored setting, checked; a bad one stops the start with a message saying how to fix it. */
  const stored = <T>(key: string, check: (value: unknown) => T): T | undefined => {
    const row = rows.get(key);
    if (!row) return undefined;
    try {
      return check(JSON.parse(row.value));
    } catch (error) {
      throw new ConfigError(
        `the stored setting ${key} is invalid (${(error as Error).message}); set it again through the environment ` +
          `(JOBLINE_POLICY, JOBLINE_RULES_FILE, JOBLINE_AUTOSCALE_*) or delete its row from the Setting table`,
      );
    }
  };

  const policy: PolicyName =
    config.policy ??
    stored(KEYS.policy, (value) => {
      if (typeof value !== 'string' || !isPolicyName(value)) throw new Error(`unknown policy ${JSON.stringify(value)}`);
      return value;
    }) ??
    'weighted-fair';

  let rules = NO_RULES;
  let rulesUpdatedAt = rows.get(KEYS.rules)?.updatedAt ?? null;
  if (config.rulesFile) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(await readFile(config.rulesFile, 'utf8'));
      rulesUpdatedAt = (await stat(config.rulesFile)).mtime;
    } catch (error) {
      throw new ConfigError(`JOBLINE_RULES_FILE: cannot read ${config.rulesFile} as JSON: ${(error as Error).message}`);
    }
    try {
      rules = validateRules(parsed);
    } catch (error) {
      throw new ConfigError(`JOBLINE_RULES_FILE ${config.rulesFile}: ${(error as Error).message}`);
    }
    log.info('rules loaded from file', { file: config.rulesFile, tiers: rules.tiers.length, users: rules.users.length });
  } else {
    rules = stored(KEYS.rules, validateRules) ?? NO_RULES;
  }

  let autoscale =
    stored(KEYS.autoscale, (value) =>
      // Defaults fill in fields a newer version may have added.
      validateAutoscale({ ...AUTOSCALE_OFF, ...(value as Partial<AutoscaleSettings>) }, config.limits.maxProcessors),
    ) ?? AUTOSCALE_OFF;
  if (config.autoscale) {
    try {
      autoscale = validateAutoscale(config.autoscale, config.limits.maxProcessors);
    } catch (error) {
      throw new ConfigError(`JOBLINE_AUTOSCALE_*: ${(error as Error).message}`);
    }
  }
  return { policy, rules, rulesUpdatedAt, autoscale };
}

export class SchedulingService {
  private rulesUpdatedAt: Date | null;

  constructor(
    private readonly write: Write,
    private readonly dispatcher: Dispatcher,
    private readonly autoscaler: AutoscaleLoop,
    private readonly maxProcessors: number,
    initial: SchedulingSettings,
    private readonly log: Logger,
  ) {
    this.rulesUpdatedAt = initial.rulesUpdatedAt;
  }

  rules(): { rules: Rules; updatedAt: Date | null } {
    return { rules: this.dispatcher.rules, updatedAt: this.rulesUpdatedAt };
  }

  /** Replaces the rules. Invalid rules are refused whole; the old ones stay in force. */
  async setRules(input: unknown): Promise<{ rules: Rules; updatedAt: Date | null }> {
    const rules = validateRules(input);
    this.rulesUpdatedAt = await save(this.write, KEYS.rules, rules);
    this.dispatcher.setRules(rules);
    this.log.info('rules set', { tiers: rules.tiers.length, users: rules.users.length });
    return this.rules();
  }

  async setPolicy(given: string): Promise<PolicyName> {
    const name = given.trim().toLowerCase();
    if (!isPolicyName(name)) {
      throw new BadInputError(`policy must be one of ${POLICY_NAMES.join(', ')} (got "${given}")`, { field: 'name' });
    }
    await save(this.write, KEYS.policy, name);
    this.dispatcher.setPolicy(name);
    return name;
  }

  autoscale() {
    return {
      ...this.autoscaler.settings,
      recommendation: this.autoscaler.recommendation ?? null,
      decisions: this.autoscaler.decisions,
    };
  }

  /** Changes some autoscaling settings; the others (absent or null) keep their values. */
  async setAutoscale(changes: {
    [K in keyof AutoscaleSettings]?: AutoscaleSettings[K] | null;
  }): Promise<ReturnType<SchedulingService['autoscale']>> {
    const defined = Object.fromEntries(Object.entries(changes).filter(([, v]) => v !== undefined && v !== null));
    const settings = validateAutoscale({ ...this.autoscaler.settings, ...defined }, this.maxProcessors);
    await save(this.write, KEYS.autoscale, settings);
    this.autoscaler.configure(settings);
    return this.autoscale();
  }
}

// Authentication and users: tokens are looked up by their hash; the admin is bootstrapped
// from JOBLINE_ADMIN_TOKEN or created on first start with a token printed once.
import { randomUUID } from 'node:crypto';
import { ConflictError, NotFoundError } from '../domain/errors.ts';
import { validateUser, validateUserSettings, type NewUserInput, type UserSettingsInput } from '../domain/validation.ts';
import type { User } from '../generated/prisma/client.ts';
import type { Db } from '../store/client.ts';
import type { Tx } from '../store/prisma-store.ts';
import type { Caller, Role } from './caller.ts';
import { hashToken, newToken } from './tokens.ts';

const CACHE_TTL_MS = 30_000;
const CACHE_MAX = 10_000;

export interface CreatedUser {
  user: User;
  token: string;
}

export class AuthService {
  /** token hash → caller; tokens cannot be revoked yet, so a short cache is safe. */
  private readonly cache = new Map<string, { caller: Caller; until: number }>();

  constructor(
    private readonly db: Db,
    /** The store's write path (group commit): all writes go through it. */
    private readonly write: <T>(work: (tx: Tx) => Promise<T>) => Promise<T>,
  ) {}

  async authenticate(token: string): Promise<Caller | undefined> {
    const hash = hashToken(token);
    const hit = this.cache.get(hash);
    if (hit && hit.until > Date.now()) return hit.caller;
    const row = await this.db.apiToken.findUnique({
      where: { hash },
      select: { user: { select: { id: true, name: true, role: true } } },
    });
    if (!row) return undefined;
    if (this.cache.size >= CACHE_MAX) this.cache.clear();
    this.cache.set(hash, { caller: row.user, until: Date.now() + CACHE_TTL_MS });
    return row.user;
  }

  /**
   * Makes sure an admin can log in. With `configuredToken`, that token belongs to the
   * `admin` user. Without it, the first start creates the admin and returns its clear
   * token (to print once); later starts return undefined.
   */
  async bootstrapAdmin(configuredToken: string | undefined): Promise<{ createdToken?: string }> {
    if (configuredToken) {
      const hash = hashToken(configuredToken);
      await this.write(async (tx) => {
        await ensureAdminUser(tx);
        await tx.apiToken.upsert({ where: { hash }, create: { id: randomUUID(), hash, userId: 'admin' }, update: {} });
      });
      return {};
    }
    if (await this.db.user.findFirst({ where: { role: 'ADMIN' }, select: { id: true } })) return {};
    const token = newToken();
    await this.write(async (tx) => {
      await ensureAdminUser(tx);
      await tx.apiToken.create({ data: { id: randomUUID(), hash: hashToken(token), userId: 'admin' } });
    });
    return { createdToken: token };
  }

  async createUser(input: NewUserInput & { role?: Role | null }): Promise<CreatedUser> {
    const valid = validateUser(input);
    const id = valid.id ?? `u_${randomUUID().replace(/-/g, '').slice(0, 16)}`;
    const token = newToken();
    const taken = await this.db.user.findFirst({
      where: { OR: [{ id }, { name: valid.name }] },
      select: { id: true, name: true },
    });
    if (taken) {
      throw new ConflictError(
        taken.id === id ? `a user with id "${id}" already exists` : `a user named "${valid.name}" already exists`,
      );
    }
    const data = {
      id,
      name: valid.name,
      role: input.role ?? 'USER',
      tier: valid.tier ?? null,
      weight: valid.weight ?? null,
      maxConcurrent: valid.maxConcurrent ?? null,
      tokens: { create: { id: randomUUID(), hash: hashToken(token) } },
    };
    const user = await this.write((tx) => tx.user.create({ data })).catch((error: unknown) => {
      // Two concurrent creations of one name or id: the second loses here.
      if ((error as { code?: string }).code === 'P2002') throw new ConflictError(`user "${valid.name}" already exists`);
      throw error;
    });
    return { user, token };
  }

  /** Changes a user's tier and own scheduling settings; null clears one, absent keeps it. */
  async updateUser(id: string, changes: UserSettingsInput): Promise<User> {
    const data = validateUserSettings(changes);
    try {
      return await this.write((tx) => tx.user.update({ where: { id }, data }));
    } catch (error) {
      if ((error as { code?: string }).code === 'P2025') throw new NotFoundError(`no user with id "${id}"`);
      throw error;
    }
  }
}

async function ensureAdminUser(tx: Tx): Promise<void> {
  await tx.user.upsert({ where: { id: 'admin' }, create: { id: 'admin', name: 'admin', role: 'ADMIN' }, update: {} });
}

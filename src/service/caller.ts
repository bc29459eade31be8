// Who is asking, and what they may touch.
import { ForbiddenError } from '../domain/errors.ts';

export type Role = 'ADMIN' | 'USER' | 'PROCESSOR';

export interface Caller {
  id: string;
  name: string;
  role: Role;
}

/**
 * The user a request acts for: the caller by default; another user only for an admin.
 * Everyone else naming another user gets FORBIDDEN.
 */
export function actingFor(caller: Caller, userId: string | null | undefined): string {
  if (userId === undefined || userId === null || userId === caller.id) return caller.id;
  if (caller.role !== 'ADMIN') throw new ForbiddenError('only an admin may act for another user');
  return userId;
}

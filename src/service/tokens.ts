// API tokens: 32 random bytes, shown once, stored only as a SHA-256 hash. A fast hash is
// right here (unlike passwords): tokens carry 256 bits of entropy, so there is nothing to
// brute-force, and every request must verify one cheaply.
import { createHash, randomBytes } from 'node:crypto';

export function newToken(): string {
  return `jl_${randomBytes(32).toString('base64url')}`;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/** Pulls the token from `Bearer <token>`; undefined when absent or malformed. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S{1,512})\s*$/i.exec(header);
  return match?.[1];
}

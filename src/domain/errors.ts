// Named domain errors. The GraphQL edge maps each to the contract's `extensions.code`;
// anything that is not one of these is masked before it reaches a client.

export type ErrorCode = 'UNAUTHENTICATED' | 'FORBIDDEN' | 'BAD_USER_INPUT' | 'NOT_FOUND' | 'CONFLICT' | 'RATE_LIMITED';

export abstract class JoblineError extends Error {
  abstract readonly code: ErrorCode;
  /** Extra machine-readable details for the client (e.g. the offending field). */
  readonly details: Record<string, unknown>;
  constructor(message: string, details: Record<string, unknown> = {}) {
    super(message);
    this.name = new.target.name;
    this.details = details;
  }
}

export class UnauthenticatedError extends JoblineError {
  readonly code = 'UNAUTHENTICATED' as const;
}
export class ForbiddenError extends JoblineError {
  readonly code = 'FORBIDDEN' as const;
}
export class BadInputError extends JoblineError {
  readonly code = 'BAD_USER_INPUT' as const;
}
export class NotFoundError extends JoblineError {
  readonly code = 'NOT_FOUND' as const;
}
export class ConflictError extends JoblineError {
  readonly code = 'CONFLICT' as const;
}
export class RateLimitedError extends JoblineError {
  readonly code = 'RATE_LIMITED' as const;
}

/**
 * Coded errors. Callers compare `err.code`, never `err.message`; one place (`toReleaseBotError`)
 * turns an unknown throw into a coded error, and the renderers for chat, HTTP and CLI read the code.
 */
export enum ErrorCode {
  ConfigInvalid = 'CONFIG_INVALID',
  BadInput = 'BAD_INPUT',
  UnknownProject = 'UNKNOWN_PROJECT',
  NotStaged = 'NOT_STAGED',
  IdentityUnresolved = 'IDENTITY_UNRESOLVED',
  NotAuthorized = 'NOT_AUTHORIZED',
  InProgress = 'IN_PROGRESS',
  AlreadyReleased = 'ALREADY_RELEASED',
  Frozen = 'FROZEN',
  ApprovalPending = 'APPROVAL_PENDING',
  ArtifactMismatch = 'ARTIFACT_MISMATCH',
  ConjurUnavailable = 'CONJUR_UNAVAILABLE',
  ConjurAuthFailed = 'CONJUR_AUTH_FAILED',
  ConjurForbidden = 'CONJUR_FORBIDDEN',
  ConjurNotFound = 'CONJUR_NOT_FOUND',
  /** Conjur's policy lets the bot see neither the group's membership sentinel nor the person: nobody can be shown a member. */
  MembershipUndetermined = 'MEMBERSHIP_UNDETERMINED',
  DestinationFailed = 'DESTINATION_FAILED',
  DestinationConflict = 'DESTINATION_CONFLICT',
  ExecFailed = 'EXEC_FAILED',
  Timeout = 'TIMEOUT',
  WebhookUnauthenticated = 'WEBHOOK_UNAUTHENTICATED',
  WebhookForbidden = 'WEBHOOK_FORBIDDEN',
  Conflict = 'CONFLICT',
  NotFound = 'NOT_FOUND',
  Internal = 'INTERNAL',
}

export interface ErrorOptions {
  cause?: unknown;
  /** Safe, secret-free facts a renderer may show (e.g. the group a user is missing). */
  details?: Record<string, unknown>;
  /** Whether trying again later can succeed (network, 429, 5xx) or not (auth, conflict, bad artifact). */
  retryable?: boolean;
}

export class ReleaseBotError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown>;
  readonly retryable: boolean;

  constructor(code: ErrorCode, message: string, options: ErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ReleaseBotError';
    this.code = code;
    this.details = options.details ?? {};
    this.retryable = options.retryable ?? false;
  }
}

/** The configuration (environment or projects file) is invalid: every problem, listed at once. */
export class ConfigError extends ReleaseBotError {
  constructor(readonly problems: string[]) {
    super(ErrorCode.ConfigInvalid, `configuration is invalid:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
}

export function isReleaseBotError(err: unknown, code?: ErrorCode): err is ReleaseBotError {
  return err instanceof ReleaseBotError && (code === undefined || err.code === code);
}

/** The one place where an unknown throw becomes a coded error. */
export function toReleaseBotError(err: unknown): ReleaseBotError {
  if (err instanceof ReleaseBotError) return err;
  if (err instanceof Error && err.name === 'AbortError') {
    return new ReleaseBotError(ErrorCode.Timeout, 'the operation timed out', { cause: err, retryable: true });
  }
  const message = err instanceof Error ? err.message : String(err);
  return new ReleaseBotError(ErrorCode.Internal, message, { cause: err });
}

/** Exit codes of the CLI, documented in the README. */
export const exitCodes: Record<ErrorCode, number> = {
  [ErrorCode.ConfigInvalid]: 78,
  [ErrorCode.BadInput]: 64,
  [ErrorCode.UnknownProject]: 64,
  [ErrorCode.NotStaged]: 66,
  [ErrorCode.IdentityUnresolved]: 77,
  [ErrorCode.NotAuthorized]: 77,
  [ErrorCode.InProgress]: 75,
  [ErrorCode.AlreadyReleased]: 73,
  [ErrorCode.Frozen]: 75,
  [ErrorCode.ApprovalPending]: 75,
  [ErrorCode.ArtifactMismatch]: 65,
  [ErrorCode.ConjurUnavailable]: 69,
  [ErrorCode.ConjurAuthFailed]: 69,
  [ErrorCode.ConjurForbidden]: 77,
  [ErrorCode.ConjurNotFound]: 69,
  [ErrorCode.MembershipUndetermined]: 78,
  [ErrorCode.DestinationFailed]: 1,
  [ErrorCode.DestinationConflict]: 1,
  [ErrorCode.ExecFailed]: 1,
  [ErrorCode.Timeout]: 1,
  [ErrorCode.WebhookUnauthenticated]: 77,
  [ErrorCode.WebhookForbidden]: 77,
  [ErrorCode.Conflict]: 73,
  [ErrorCode.NotFound]: 66,
  [ErrorCode.Internal]: 70,
};

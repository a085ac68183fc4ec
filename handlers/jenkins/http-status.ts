import { ErrorCode, type ReleaseBotError } from '../../src/errors.js';

/**
 * The HTTP status of every coded error, in one table (the compiler insists every code has one).
 * 400: the report itself is malformed, including an artifact path that would leave the staging
 * directory (`..`, absolute): nothing on disk was looked at. 422: the report is well-formed but the
 * staging directory or registry does not hold what it says (a file missing, extra or with another
 * digest, a symlink, an absent image).
 */
const STATUS: Record<ErrorCode, number> = {
  [ErrorCode.BadInput]: 400,
  [ErrorCode.WebhookUnauthenticated]: 401,
  [ErrorCode.WebhookForbidden]: 403,
  [ErrorCode.NotAuthorized]: 403,
  [ErrorCode.IdentityUnresolved]: 403,
  [ErrorCode.ConjurForbidden]: 403,
  [ErrorCode.UnknownProject]: 404,
  [ErrorCode.Conflict]: 409,
  [ErrorCode.AlreadyReleased]: 409,
  [ErrorCode.InProgress]: 409,
  [ErrorCode.Frozen]: 409,
  [ErrorCode.ApprovalPending]: 409,
  [ErrorCode.DestinationConflict]: 409,
  [ErrorCode.NotStaged]: 422,
  [ErrorCode.ArtifactMismatch]: 422,
  [ErrorCode.NotFound]: 422,
  [ErrorCode.ExecFailed]: 502,
  [ErrorCode.DestinationFailed]: 502,
  [ErrorCode.ConjurUnavailable]: 503,
  [ErrorCode.ConjurAuthFailed]: 503,
  [ErrorCode.ConjurNotFound]: 503,
  [ErrorCode.MembershipUndetermined]: 503,
  [ErrorCode.Timeout]: 503,
  [ErrorCode.ConfigInvalid]: 500,
  [ErrorCode.Internal]: 500,
};

/** A failure worth retrying (network, 429, 5xx, a JWKS that could not be read) is a 503 whatever its code. */
export function httpStatus(err: ReleaseBotError): number {
  if (err.retryable) return 503;
  return STATUS[err.code] ?? 500;
}

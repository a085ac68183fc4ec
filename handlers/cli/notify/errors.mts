/** The single-file notify's errors and exit codes (part of release-bot-notify.mts: only `node:` imports here). */

/**
 * The exit code of each error code, as src/errors.ts `exitCodes` has them (this file cannot import it;
 * test/jenkins/notify-single-file.test.ts checks that they agree).
 */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  CONFIG_INVALID: 78,
  BAD_INPUT: 64,
  UNKNOWN_PROJECT: 64,
  NOT_STAGED: 66,
  IDENTITY_UNRESOLVED: 77,
  NOT_AUTHORIZED: 77,
  IN_PROGRESS: 75,
  ALREADY_RELEASED: 73,
  FROZEN: 75,
  APPROVAL_PENDING: 75,
  ARTIFACT_MISMATCH: 65,
  CONJUR_UNAVAILABLE: 69,
  CONJUR_AUTH_FAILED: 69,
  CONJUR_FORBIDDEN: 77,
  CONJUR_NOT_FOUND: 69,
  MEMBERSHIP_UNDETERMINED: 78,
  DESTINATION_FAILED: 1,
  DESTINATION_CONFLICT: 1,
  EXEC_FAILED: 1,
  TIMEOUT: 1,
  WEBHOOK_UNAUTHENTICATED: 77,
  WEBHOOK_FORBIDDEN: 77,
  CONFLICT: 73,
  NOT_FOUND: 66,
  INTERNAL: 70,
};

/** A failure before or while reporting, with the error code the CLI renders (`[CODE]`, its exit code). */
export class NotifyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotifyError';
    this.code = code;
  }
}

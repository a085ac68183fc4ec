import { ErrorCode, ReleaseBotError } from '../errors.js';
import { tail } from '../exec.js';
import { clip } from '../validate.js';
import { MINIMUM_SKOPEO_VERSION } from './skopeo-version.js';

export type SkopeoFailureReason =
  'not-found' | 'unauthorized' | 'network' | 'rate-limited' | 'server-error' | 'tls' | 'unsupported' | 'killed' | 'crashed' | 'other';

const FAILURES: Array<[SkopeoFailureReason, RegExp]> = [
  ['unsupported', /unknown (?:shorthand )?flag|unknown command/i],
  ['rate-limited', /toomanyrequests|too many requests|\b429\b(?= \(?[A-Z])/i],
  ['server-error', /\b5\d\d\b(?= \(?[A-Z])|unexpected http status: 5\d\d/i],
  ['tls', /x509:|certificate|server gave http response to https client|tls: /i],
  [
    'network',
    /connection refused|connection reset|tls handshake timeout|i\/o timeout|timeout exceeded|no such host|network is unreachable|no route to host|server misbehaving|temporary failure|broken pipe|unexpected eof|\beof\b/i,
  ],
  ['unauthorized', /unauthorized|authentication required|denied|invalid username\/password|forbidden/i],
  ['not-found', /manifest unknown|name unknown|repository name not known|not found|statuscode: 404\b/i],
];

const RETRYABLE: ReadonlySet<SkopeoFailureReason> = new Set(['network', 'rate-limited', 'server-error', 'killed']);

/**
 * Sorts a failed skopeo run into one reason, first by its exit status, then by what it printed.
 * skopeo exits 1 for every error it reports (`logrus.Fatal`) and, from 1.16 on, 2 for an image that
 * is not there (cmd/skopeo/main.go); a Go panic also exits 2, a shell's "cannot run" is 126/127 and
 * a signal shows as 128+n. Only network trouble, 429, 5xx and a killed process are worth retrying;
 * anything unknown is final.
 */
export function classifySkopeoFailure(stderr: string, exitCode = 1): { reason: SkopeoFailureReason; retryable: boolean } {
  const verdict = (reason: SkopeoFailureReason) => ({ reason, retryable: RETRYABLE.has(reason) });
  if (exitCode > 128) return verdict('killed');
  if (exitCode === 126 || exitCode === 127) return verdict('unsupported');
  if (/^panic: |^goroutine \d+ \[/m.test(stderr)) return verdict('crashed');
  if (exitCode !== 1 && exitCode !== 2) return verdict('other');
  for (const [reason, pattern] of FAILURES) {
    if (pattern.test(stderr)) return verdict(reason);
  }
  return verdict(exitCode === 2 && /level=fatal/.test(stderr) ? 'not-found' : 'other');
}

/** skopeo prints `level=fatal msg="..."`: the message is what a person needs. */
function fatalMessage(stderr: string): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(stderr);
  return m ? (m[1] as string).replace(/\\"/g, '"') : tail(stderr, 3, 500);
}

const HINTS: Record<SkopeoFailureReason, string> = {
  'not-found': 'the image or tag does not exist',
  unauthorized:
    "the registry refused the credentials: check the username and password (or token) in Conjur and the account's push/pull rights",
  network: 'the registry could not be reached (will be retried)',
  'rate-limited': 'the registry asked to slow down (429, will be retried)',
  'server-error': 'the registry answered with a server error (5xx, will be retried)',
  tls: "TLS failed: check the registry's certificate, or tls_verify for a plain-HTTP registry",
  unsupported: `this skopeo cannot run the command: install skopeo ${MINIMUM_SKOPEO_VERSION} or newer (release-bot doctor shows the version found)`,
  killed: 'skopeo was killed by a signal (will be retried)',
  crashed: 'skopeo crashed: report it with the output below; a retry will not help',
  other: 'skopeo failed',
};

/** A coded error for a failed skopeo run: NOT_FOUND when the image is absent, EXEC_FAILED otherwise. */
export class SkopeoError extends ReleaseBotError {
  constructor(
    readonly reason: SkopeoFailureReason,
    what: string,
    stderr: string,
    retryable: boolean,
    cause?: unknown,
    exitCode?: number,
  ) {
    const status = exitCode === undefined || exitCode === 1 ? '' : `, exit ${exitCode}`;
    super(
      reason === 'not-found' ? ErrorCode.NotFound : ErrorCode.ExecFailed,
      `${what}: ${HINTS[reason]} (${clip(fatalMessage(stderr), 400)}${status})`,
      {
        retryable,
        cause,
        details: { reason, stderr: tail(stderr, 4, 800), ...(exitCode === undefined ? {} : { exitCode }) },
      },
    );
  }
}

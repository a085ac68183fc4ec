import { createHmac, timingSafeEqual } from 'node:crypto';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';

const SIGNATURE = /^sha256=([0-9a-fA-F]{64})$/;

/** GitHub's scheme: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256 of the raw body>`. */
export function hubSignature(rawBody: Buffer, secret: string): string {
  return `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
}

/**
 * Checks an `X-Hub-Signature-256` header against the raw body, in constant time. It proves that the
 * sender holds the shared secret, nothing more: the job check is left to the caller.
 */
export function verifyHubSignature(rawBody: Buffer, header: string | undefined, secret: string): void {
  const m = header === undefined ? null : SIGNATURE.exec(header.trim());
  if (!m) throw new ReleaseBotError(ErrorCode.WebhookUnauthenticated, 'X-Hub-Signature-256 must be "sha256=" followed by 64 hex digits');
  const given = Buffer.from((m[1] as string).toLowerCase(), 'hex');
  const expected = createHmac('sha256', secret).update(rawBody).digest();
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    throw new ReleaseBotError(
      ErrorCode.WebhookUnauthenticated,
      'X-Hub-Signature-256 does not match the body: sign the exact bytes sent with JENKINS_WEBHOOK_SECRET',
    );
  }
}

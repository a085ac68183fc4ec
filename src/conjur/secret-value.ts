import type { Redactor } from '../redact.js';

/**
 * A credential's value: text (a string) when its bytes are UTF-8 without a NUL, else the bytes
 * themselves (a PKCS#12 keystore, a binary signing key). A NUL cannot travel in an environment
 * variable or a C string, and bytes that are not UTF-8 would be changed by decoding them, so such
 * values stay a Buffer all the way to the publisher.
 */
export type SecretValue = string | Buffer;

/** Strict: a byte sequence that is not UTF-8 throws instead of becoming U+FFFD; a BOM is kept, not eaten. */
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export function secretFromBytes(bytes: Buffer): SecretValue {
  if (bytes.includes(0)) return bytes;
  try {
    return utf8.decode(bytes);
  } catch {
    return bytes;
  }
}

export const isBinarySecret = (value: SecretValue): value is Buffer => Buffer.isBuffer(value);

/** Runs of printable ASCII this long inside a binary value are redacted on their own (what `strings` would show). */
const MIN_TEXT_RUN = 12;

/**
 * Registers a value for redaction the moment it is read. Text goes through the redactor as it is
 * (plain, base64, URL-encoded, line by line). Bytes cannot appear in a log as such, only in the
 * forms something turns them into: base64 (also wrapped at 60, 64 and 76 characters per line:
 * Conjur's batch answer, PEM, the base64 tool), base64url, hex, a lossy UTF-8 or Latin-1 decoding, a JSON dump of the
 * Buffer's bytes, and any long printable run inside it.
 */
export function registerSecret(redactor: Redactor, value: SecretValue | undefined): void {
  if (value === undefined) return;
  if (!isBinarySecret(value)) {
    redactor.add(value);
    return;
  }
  const base64 = value.toString('base64');
  redactor.add(base64);
  // Wrapped as Conjur's answer (60), PEM (64) and the base64 tool or MIME (76) wrap it, line by line.
  for (const width of [60, 64, 76]) redactor.add(wrapBase64(base64, width));
  redactor.add(value.toString('base64url'));
  redactor.add(value.toString('hex'));
  redactor.add(value.toString('utf8'));
  redactor.add(value.toString('latin1'));
  redactor.add([...value].join(','));
  for (const run of value.toString('latin1').match(new RegExp(`[\\x20-\\x7e]{${MIN_TEXT_RUN},}`, 'g')) ?? []) redactor.add(run);
}

/** Base64 cut into lines of `width`, each ended by a newline: Ruby's Base64.encode64 (what Conjur's batch answer holds) at 60. */
export function wrapBase64(base64: string, width = 60): string {
  return base64.replace(new RegExp(`.{1,${width}}`, 'g'), '$&\n');
}

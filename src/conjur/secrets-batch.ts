import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { mentions, parseJson, unexpected } from './answers.js';
import { conjurErrorCode, conjurErrorHint } from './error-codes.js';
import type { HttpResponse } from './http-request.js';
import { registerSecret, secretFromBytes, type SecretValue } from './secret-value.js';

/** One batch read of variables: the ids as asked (`release/npm/token`) and as Conjur names them (`acme:variable:release/npm/token`). */
export interface SecretsBatch {
  ids: readonly string[];
  qualified: readonly string[];
  /** The bot's login, for the fixes the refusals name. */
  login: string;
}

/**
 * The refusals of a batch read Conjur answers with its own words: 406 CONJ00074E (a binary value
 * asked without base64), 404 (a variable missing or empty), 403 (not permitted); undefined otherwise.
 */
export function batchRefusal(res: HttpResponse, { ids, qualified, login }: SecretsBatch): ReleaseBotError | undefined {
  const code = conjurErrorCode(res.body);
  if (res.status === 406 || code === 'CONJ00074E') {
    return new ReleaseBotError(ErrorCode.ConjurUnavailable, conjurErrorHint('CONJ00074E', { variables: ids, login }) as string, {
      details: { variables: ids, status: res.status, conjurCode: code },
    });
  }
  if (res.status === 404) {
    // Only ids we asked for are ever named: Conjur's own text is matched against them, never repeated.
    const named = ids.filter((_, i) => mentions(res.body, qualified[i] as string));
    const missing = named.length > 0 ? named : ids;
    const which = named.length > 0 ? `the Conjur variable ${named.join(', ')}` : `at least one of the Conjur variables ${ids.join(', ')}`;
    const codeText = code === undefined ? '' : ` (${code})`;
    return new ReleaseBotError(
      ErrorCode.ConjurNotFound,
      `${which} does not exist or has no value${codeText}: declare it in policy and set a value (conjur variable set -i <id> -v ...)`,
      { details: { missing, status: 404, ...(code ? { conjurCode: code } : {}) } },
    );
  }
  if (res.status === 403) {
    return new ReleaseBotError(
      ErrorCode.ConjurForbidden,
      `the bot (${login}) may not read (execute) at least one of the Conjur variables ${ids.join(', ')}: permit it in policy`,
      { details: { variables: ids, status: 403 } },
    );
  }
  return undefined;
}

/**
 * The values of a successful batch read, by the ids as asked. Every value is registered for redaction
 * before anything else looks at it, so no later error or log line can show one: the wire form first,
 * then the value it decodes to. `Content-Encoding: base64` values are Ruby's Base64.encode64.
 */
export function valuesFromBatch(res: HttpResponse, { ids, qualified }: SecretsBatch, redactor: Redactor): Map<string, SecretValue> {
  const body = parseJson(res, 'GET /secrets') as Record<string, unknown> | null;
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw unexpected('GET /secrets did not return an object');
  const base64 = String(res.headers['content-encoding'] ?? '').toLowerCase() === 'base64';
  for (const wire of Object.values(body)) if (typeof wire === 'string') redactor.add(wire);
  const values = new Map<string, SecretValue>();
  for (const [key, wire] of Object.entries(body)) {
    if (typeof wire !== 'string') continue;
    if (base64 && !/^[A-Za-z0-9+/=\r\n]*$/.test(wire))
      throw unexpected(`GET /secrets said Content-Encoding: base64, but a value is not base64`);
    const value = base64 ? secretFromBytes(Buffer.from(wire, 'base64')) : wire;
    registerSecret(redactor, value);
    values.set(key, value);
  }
  const result = new Map<string, SecretValue>();
  ids.forEach((id, i) => {
    const value = values.get(qualified[i] as string);
    if (value === undefined) {
      throw new ReleaseBotError(ErrorCode.ConjurNotFound, `Conjur returned no value for the variable ${id}`, {
        details: { missing: [id] },
      });
    }
    result.set(id, value);
  });
  return result;
}

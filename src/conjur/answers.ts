import { ErrorCode, ReleaseBotError } from '../errors.js';
import { conjurErrorCode, conjurErrorHint, type ErrorSubject } from './error-codes.js';
import type { HttpResponse } from './http-request.js';

/** How Conjur's answers are read: status codes as coded errors, JSON bodies, the token header. */

export function authHeader(token: string): Record<string, string> {
  return { Authorization: `Token token="${token}"` };
}

/** Whether Conjur's error text names `id` as a whole (not `release/a` inside `release/a-b`). */
export function mentions(text: string, id: string): boolean {
  const esc = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_.@/:-])${esc}($|[^A-Za-z0-9_.@/:-]|\\.($|[^A-Za-z0-9_@/-]))`).test(text);
}

export function expectOk(res: HttpResponse, what: string, login: string, subject: ErrorSubject = { login }): HttpResponse {
  if (res.status >= 200 && res.status < 300) return res;
  const err = statusError(res.status, what, login);
  // A coded Conjur error the bot knows says more than the status: its fix replaces the generic one.
  const code = conjurErrorCode(res.body);
  const hint = conjurErrorHint(code, subject);
  if (hint === undefined) throw err;
  throw new ReleaseBotError(err.code, `${hint} (${res.status}, trying to ${what})`, {
    details: { ...err.details, conjurCode: code },
    retryable: err.retryable,
  });
}

/** Status codes become coded errors here, once; 5xx and 429 are worth retrying, the rest are not. */
export function statusError(status: number, what: string, login: string): ReleaseBotError {
  if (status === 401) {
    return new ReleaseBotError(
      ErrorCode.ConjurAuthFailed,
      `Conjur refused the bot's credentials as ${login} (401) trying to ${what}: check CONJUR_AUTHN_LOGIN and CONJUR_AUTHN_API_KEY or CONJUR_AUTHN_TOKEN_FILE`,
      { details: { status, login } },
    );
  }
  if (status === 403) {
    return new ReleaseBotError(ErrorCode.ConjurForbidden, `Conjur forbade the bot (${login}) to ${what} (403): grant it in Conjur policy`, {
      details: { status, login },
    });
  }
  if (status === 404)
    return new ReleaseBotError(ErrorCode.ConjurNotFound, `Conjur found nothing visible to the bot trying to ${what} (404)`, {
      details: { status },
    });
  if (status >= 500 || status === 429)
    return new ReleaseBotError(ErrorCode.ConjurUnavailable, `Conjur is unavailable (${status}) trying to ${what}: try again later`, {
      details: { status },
      retryable: true,
    });
  return unexpected(`Conjur answered ${status} trying to ${what}`);
}

export function unexpected(message: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.ConjurUnavailable, `unexpected answer from Conjur: ${message}`, { retryable: false });
}

export function parseJson(res: HttpResponse, what: string): unknown {
  try {
    return JSON.parse(res.body);
  } catch {
    throw unexpected(`${what} did not return JSON`);
  }
}

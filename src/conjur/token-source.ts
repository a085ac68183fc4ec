import { readFile } from 'node:fs/promises';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Redactor } from '../redact.js';

/**
 * A token without `exp` (older Conjur) lives 8 minutes; one fetched 6 minutes ago is replaced before
 * it can lapse mid-release.
 */
export const TOKEN_LIFETIME_MS = 8 * 60_000;
export const TOKEN_REFRESH_AFTER_MS = 6 * 60_000;
/**
 * A token with `exp` is replaced once 80 % of its own life (`exp - iat`) has passed. Lifetimes are
 * set per server and per role kind (`CONJUR_HOST_AUTHORIZATION_TOKEN_TTL`, 8 minutes by default, at
 * most 5 hours: cyberark/conjur app/domain/token_factory.rb), so a fixed timer would be wrong for
 * some; conjur-api-go refreshes at 85 % (conjurapi/authn/auth_token.go), a little earlier here
 * leaves room for a slow call.
 */
export const TOKEN_REFRESH_FRACTION = 0.8;

/** Where the bot's access token comes from: a login + API key exchange, or a file kept fresh by someone else. */
export interface TokenSource {
  /** The base64 token to send now. */
  current(): Promise<string>;
  /** After a 401 with `stale`: a different token to retry with once, or undefined when there is none. */
  renew(stale: string): Promise<string | undefined>;
}

/**
 * Accepts a token as Conjur hands it out, raw JSON `{protected, payload, signature}` or its base64,
 * and returns the base64 form the Authorization header carries; undefined when it is neither.
 */
export function normalizeToken(text: string): { base64: string; json: string; signature: string; lifetimeMs?: number } | undefined {
  const trimmed = text.trim();
  if (!trimmed) return undefined;
  const json = trimmed.startsWith('{') ? trimmed : Buffer.from(trimmed.replace(/\s+/g, ''), 'base64').toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    return undefined;
  }
  const t = parsed as Record<string, unknown> | null;
  if (!t || typeof t !== 'object' || Array.isArray(t)) return undefined;
  if (!['protected', 'payload', 'signature'].every((k) => typeof t[k] === 'string' && (t[k] as string).length > 0)) return undefined;
  const base64 = trimmed.startsWith('{') ? Buffer.from(trimmed, 'utf8').toString('base64') : trimmed.replace(/\s+/g, '');
  const lifetimeMs = lifetimeOf(t.payload as string);
  return { base64, json, signature: t.signature as string, ...(lifetimeMs === undefined ? {} : { lifetimeMs }) };
}

/**
 * The token's own life, `exp - iat` of its payload, in milliseconds; undefined when it has no `exp`.
 * Slosilo writes the payload as URL-safe base64 (padded) of `{"iat":…,"sub":…,"exp":…}`, seconds
 * since the epoch (cyberark/slosilo lib/slosilo/jwt.rb, to_json and canonicalize_claims). Only the
 * difference is used, measured from when the bot received the token on its own clock, so a clock
 * skew between the release machine and Conjur does not matter.
 */
function lifetimeOf(payload: string): number | undefined {
  let claims: unknown;
  try {
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  const { iat, exp } = (claims ?? {}) as { iat?: unknown; exp?: unknown };
  if (typeof iat !== 'number' || typeof exp !== 'number' || !Number.isFinite(iat) || !Number.isFinite(exp) || exp < iat) return undefined;
  return (exp - iat) * 1000;
}

/**
 * Registers a token for redaction: its base64 (the header form) and its signature, which is what makes
 * the raw JSON form usable, so redacting it defangs that form too. The JSON itself is not added: the
 * redactor never forgets a value and a long-running bot receives a new token every few minutes.
 */
export function registerToken(redactor: Redactor, token: { base64: string; signature: string }): void {
  redactor.rotate('conjur-access-token', [token.base64, token.signature]);
}

/** When to replace a token received now: at 80 % of its own life, or after 6 minutes when it does not say. */
export function refreshAfterMs(lifetimeMs: number | undefined): number {
  return lifetimeMs === undefined ? TOKEN_REFRESH_AFTER_MS : lifetimeMs * TOKEN_REFRESH_FRACTION;
}

/** Exchanges login + API key for a token, caches it, and fetches a new one at 80 % of its life. */
export class ApiKeyTokenSource implements TokenSource {
  private cached: { base64: string; obtainedAt: number; refreshAfterMs: number } | undefined;
  private inflight: Promise<string> | undefined;

  constructor(
    private readonly authenticate: () => Promise<{ base64: string; lifetimeMs?: number }>,
    private readonly now: () => number,
  ) {}

  current(): Promise<string> {
    const c = this.cached;
    const age = c === undefined ? Infinity : this.now() - c.obtainedAt;
    // A negative age means the clock went backwards: trust nothing cached.
    if (c && age >= 0 && age < c.refreshAfterMs) return Promise.resolve(c.base64);
    return this.fetch();
  }

  async renew(stale: string): Promise<string | undefined> {
    if (this.cached?.base64 === stale) this.cached = undefined;
    const fresh = await this.current();
    return fresh === stale ? undefined : fresh;
  }

  /** Concurrent callers share one authn call instead of each logging in. */
  private fetch(): Promise<string> {
    this.inflight ??= this.authenticate()
      .then(({ base64, lifetimeMs }) => {
        this.cached = { base64, obtainedAt: this.now(), refreshAfterMs: refreshAfterMs(lifetimeMs) };
        return base64;
      })
      .finally(() => {
        this.inflight = undefined;
      });
    return this.inflight;
  }
}

/**
 * Reads a token that another process (an authenticator sidecar, `conjur authn authenticate`) keeps
 * fresh in a file. The file is small, so it is read on every use: a new token is picked up at once.
 */
export class FileTokenSource implements TokenSource {
  private last: { text: string; base64: string } | undefined;

  constructor(
    private readonly file: string,
    private readonly redactor: Redactor,
  ) {}

  async current(): Promise<string> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ReleaseBotError(
        ErrorCode.ConjurUnavailable,
        `CONJUR_AUTHN_TOKEN_FILE ${this.file} cannot be read (${code}): check the path and that the process writing the token is running`,
        { retryable: true, cause: err },
      );
    }
    if (this.last?.text === text) return this.last.base64;
    const token = normalizeToken(text);
    if (!token) {
      throw new ReleaseBotError(
        ErrorCode.ConjurAuthFailed,
        `CONJUR_AUTHN_TOKEN_FILE ${this.file} does not hold a Conjur access token (JSON {protected, payload, signature} or its base64)`,
      );
    }
    registerToken(this.redactor, token);
    this.last = { text, base64: token.base64 };
    return token.base64;
  }

  async renew(stale: string): Promise<string | undefined> {
    const fresh = await this.current();
    return fresh === stale ? undefined : fresh;
  }
}

import { randomBytes } from 'node:crypto';
import { pino, type Logger } from 'pino';
import { ConjurClient, type ConjurClientOptions } from '../../src/conjur/client.js';
import { Redactor } from '../../src/redact.js';

export const ACCOUNT = 'myorg';
export const BOT_LOGIN = 'host/release-bot';
/** Canaries: realistic lengths (a Conjur API key is 55 characters), unique enough to grep for. */
export const CANARY_API_KEY = `canaryapikey${'3x7k9q2m'.repeat(5)}zz1`;
export const CANARY_SECRET = 'CANARY-secret-npm-token-5f2b9c1e';
export const CANARY_MULTILINE = '-----BEGIN KEY-----\nCANARYmultilinekeymaterial0123456789\n-----END KEY-----';

/** A token shaped as Conjur issues them: JSON `{protected, payload, signature}` and its base64 for the header. */
export function fakeToken(sub = BOT_LOGIN, lifetimeSeconds?: number): { json: string; base64: string; signature: string } {
  const signature = randomBytes(24).toString('base64url');
  const iat = 1_700_000_000;
  // Without a lifetime, the payload older Conjur versions wrote ({sub, iat}); with one, slosilo's {iat, sub, exp}.
  const claims = lifetimeSeconds === undefined ? { sub, iat } : { iat, sub, exp: iat + lifetimeSeconds };
  const json = JSON.stringify({
    protected: Buffer.from('{"alg":"conjur.org/slosilo/v2","kid":"test"}').toString('base64url'),
    payload: Buffer.from(JSON.stringify(claims)).toString('base64url'),
    signature,
  });
  return { json, base64: Buffer.from(json).toString('base64'), signature };
}

export const tokenHeader = (base64: string): string => `Token token="${base64}"`;

/** A pino logger at trace level whose every line lands in `lines`. */
export function captureLogger(): { log: Logger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const log = pino({ level: 'trace' }, { write: (line: string) => void lines.push(line) });
  return { log, lines, text: () => lines.join('') };
}

/** A controllable clock starting at a fixed instant. */
export function testClock(start = Date.UTC(2025, 0, 1, 12, 0, 0)): { now: () => number; advance: (ms: number) => void } {
  let t = start;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

export function makeClient(overrides: Partial<ConjurClientOptions> = {}): { client: ConjurClient; redactor: Redactor } {
  const redactor = overrides.redactor ?? new Redactor();
  const client = new ConjurClient({
    applianceUrl: 'https://conjur.test',
    account: ACCOUNT,
    login: BOT_LOGIN,
    apiKey: CANARY_API_KEY,
    // Generous: on a loaded machine a TLS handshake with the stand-in took over 2 s, and a timeout is retryable
    // where a certificate refusal is not. The timeout test sets its own.
    timeoutMs: 30_000,
    ...overrides,
    redactor,
  });
  return { client, redactor };
}

/** Everything an error could show a reader: message, details, and the same for its causes. */
export function visibleText(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err, depth = 0; e && depth < 5; e = (e as { cause?: unknown }).cause, depth++) {
    const o = e as { message?: unknown; details?: unknown; stack?: unknown };
    parts.push(String(o.message), JSON.stringify(o.details ?? null), String(o.stack));
  }
  return parts.join('\n');
}

/** The rejection of `p`, failing the test when `p` resolves. */
export async function rejectionOf(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection, but the promise resolved');
    },
    (err: unknown) => err,
  );
}

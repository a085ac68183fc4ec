import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';
import { httpError, type Service } from '../http.js';
import { exchange, isLoopback, toHeaders, type Link } from './registry-exchange.js';

const MAX_TOKEN_BYTES = 1024 * 1024;

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/** `Bearer realm="…",service="…",scope="…"` (RFC 6750 §3) or `Basic realm="…"`. */
export function parseChallenge(header: string | undefined): Challenge | undefined {
  const m = /^\s*([A-Za-z]+)\s*(.*)$/s.exec(header ?? '');
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of (m[2] ?? '').matchAll(/([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g)) {
    params[(p[1] as string).toLowerCase()] = (p[2] ?? p[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (m[1] as string).toLowerCase(), params };
}

/** What asking for a token needs: the registry's link, the scope, and Basic credentials when there are some. */
export interface TokenRequest {
  link: Link;
  host: string;
  repoPath: string;
  actions: 'pull' | 'pull,push';
  /** base64(user:pass), already registered for redaction; undefined for an anonymous token. */
  basic: string | undefined;
}

/**
 * Distribution docs/content/spec/auth/token.md "Requesting a Token": GET realm?service=…&scope=repository:<path>:<actions>,
 * with Basic credentials when there are some. Answers the token (the caller registers it for redaction).
 */
export async function fetchToken(challenge: Challenge, t: TokenRequest): Promise<string> {
  const { link } = t;
  let realm: URL;
  try {
    realm = new URL(challenge.params.realm as string);
  } catch {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${link.service.name} names a token service that is not a URL (${clip(link.redact(challenge.params.realm ?? ''), 120)})`,
      { details: { reason: 'auth' } },
    );
  }
  // The credentials go to the realm: never in clear over a network, never to a URL with a scheme we do not speak.
  if (!(realm.protocol === 'https:' || (realm.protocol === 'http:' && isLoopback(realm.hostname)))) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${link.service.name} sends us for a token to ${clip(link.redact(realm.origin), 120)}: only https (or http on loopback) is accepted, credentials are sent there`,
      { details: { reason: 'auth' } },
    );
  }
  if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
  realm.searchParams.set('scope', `repository:${t.repoPath}:${t.actions}`);
  const headers: Record<string, string> = t.basic ? { Authorization: `Basic ${t.basic}` } : {};
  const tokenService: Service = { name: `the token service of ${t.host}`, credential: link.service.credential };
  const reply = await exchange(link, 'GET', realm, headers, undefined, MAX_TOKEN_BYTES);
  if (reply.status !== 200)
    throw httpError(
      { redact: link.redact },
      tokenService,
      `GET ${link.redact(realm.pathname)}`,
      reply.status,
      toHeaders(reply.headers),
      reply.body.toString('utf8'),
    );
  let token: unknown;
  try {
    const json = JSON.parse(reply.body.toString('utf8')) as { token?: unknown; access_token?: unknown };
    token = json.token ?? json.access_token;
  } catch {
    token = undefined;
  }
  if (typeof token !== 'string' || token === '' || /[\r\n]/.test(token)) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${tokenService.name} answered without a token (neither "token" nor "access_token")`,
      { retryable: true, details: { reason: 'auth' } },
    );
  }
  return token;
}

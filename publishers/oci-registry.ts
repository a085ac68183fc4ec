import { createHash } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { Redactor } from '../src/redact.js';
import { clip } from '../src/validate.js';
import { httpError, type Service } from './http.js';
import { timedOut } from './common/wait.js';

/**
 * A small client for the registry HTTP API (OCI distribution-spec spec.md: manifests, blob upload by
 * POST then PUT `?digest=`), with the two ways a registry asks for credentials (distribution
 * docs/content/spec/auth/token.md): `WWW-Authenticate: Basic` (htpasswd) and `Bearer realm=…,service=…`,
 * whose token is fetched with the same credentials. No npm package: node:http(s) gives the one thing
 * fetch cannot, `tls_verify: false`.
 */
export interface RegistryAccess {
  username?: string | undefined;
  password?: string | undefined;
  tlsVerify: boolean;
  signal?: AbortSignal | undefined;
  /** Redacts the release's secrets (a publisher's ctx.redact); the credentials above are always redacted too. */
  redact?: ((text: string) => string) | undefined;
  /** The credential's name for messages ("check the Conjur variable behind REGISTRY_PASSWORD"). */
  credentialName?: string | undefined;
}

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  /** cosign pkg/types/payload.go DssePayloadType: the layer media type of an attestation. */
  dsse: 'application/vnd.dsse.envelope.v1+json',
} as const;

/** Every manifest kind a release can publish, for resolving a reference to its digest. */
export const ANY_MANIFEST = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerList, MEDIA_TYPES.dockerManifest].join(', ');

/** distribution's own cap on a manifest (registry/handlers/manifests.go maxManifestBodySize). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_TOKEN_BYTES = 1024 * 1024;
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 120_000;
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Where the answer came from, after redirects. */
  from?: URL;
}

export interface Call {
  method: 'GET' | 'HEAD' | 'POST' | 'PUT';
  /** A path under the registry (`/v2/...`) or an absolute URL it handed out (an upload Location). */
  url: string;
  headers?: Record<string, string>;
  body?: Buffer;
  /** Statuses the caller handles (404: not there); any other non-2xx is a classified error. */
  expect?: readonly number[];
  /** Bytes of body the caller accepts; a longer answer is refused, not read. */
  limit?: number;
}

export function sha256Digest(bytes: Buffer): string {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
}

export function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

interface Challenge {
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

/**
 * HTTPS always first. tls_verify false skips the certificate check and, like skopeo, falls back to plain
 * HTTP when the TLS handshake fails, but on a loopback registry only: a credential never crosses a network in clear.
 */
export class RegistryClient {
  private base: URL;
  readonly service: Service;
  private readonly local = new Redactor();
  private readonly signal: AbortSignal;
  private authorization: string | undefined;
  private bearer: Challenge | undefined;
  private pinged = false;

  /** `actions`: the scope a token is asked for ("pull" to read, "pull,push" to attach). */
  constructor(
    readonly host: string,
    readonly repoPath: string,
    private readonly access: RegistryAccess,
    private readonly actions: 'pull' | 'pull,push',
  ) {
    this.base = new URL(`https://${host}`);
    this.service = { name: `the registry ${host}`, credential: access.credentialName ?? 'REGISTRY_PASSWORD' };
    this.signal = access.signal ?? AbortSignal.timeout(DEFAULT_TIMEOUT_MS);
    if (access.password) {
      this.local.add(access.password);
      if (access.username !== undefined) this.local.add(`${access.username}:${access.password}`);
    }
  }

  redact = (text: string): string => {
    const once = this.local.redact(text);
    return this.access.redact ? this.access.redact(once) : once;
  };

  /** `/v2/<repository path>/<rest>` */
  repoUrl(rest: string): string {
    return `/v2/${this.repoPath}/${rest}`;
  }

  /**
   * One registry call, authenticated as the registry asks. A 401 is answered once: with a fresh token
   * (expired, or the first one on a registry whose /v2/ was open to all), or with Basic credentials
   * when that is what this request's challenge asks for and they were not sent yet.
   */
  async call(c: Call): Promise<Reply> {
    await this.ping();
    let reply = await this.send(c);
    // Only the registry itself may send us for credentials: a 401 from where a redirect led is just a failure.
    if (reply.status === 401 && reply.from?.origin === this.base.origin) {
      const challenge = parseChallenge(header(reply.headers, 'www-authenticate'));
      const bearer = challenge?.scheme === 'bearer' && challenge.params.realm ? challenge : this.bearer;
      if (bearer && challenge?.params.error !== 'insufficient_scope') {
        this.bearer = bearer;
        await this.fetchToken(bearer);
        reply = await this.send(c);
      } else if (challenge?.scheme === 'basic' && !this.authorization?.startsWith('Basic ')) {
        this.authorization = `Basic ${this.basicCredentials()}`;
        reply = await this.send(c);
      }
    }
    if (reply.status >= 200 && reply.status < 300) return reply;
    if ((c.expect ?? []).includes(reply.status)) return reply;
    const where = `${c.method} ${this.redact(this.resolve(c.url).pathname)}`;
    if (reply.status === 401 && parseChallenge(header(reply.headers, 'www-authenticate'))?.params.error === 'insufficient_scope') {
      // The token service authenticated us and granted less than asked (token.md: not an error there).
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${this.service.name} refused ${where}: the account behind ${this.service.credential} may not ${this.actions.replace(',', ' and ')} ${this.repoPath}; grant it that on the registry`,
        {
          details: { status: 401, reason: 'auth' },
        },
      );
    }
    throw httpError({ redact: this.redact }, this.service, where, reply.status, toHeaders(reply.headers), reply.body.toString('utf8'));
  }

  /** GET /v2/ without credentials: the answer says whether and how the registry wants them. */
  private async ping(): Promise<void> {
    if (this.pinged) return;
    let reply: Reply;
    try {
      reply = await this.raw('GET', this.resolve('/v2/'), {}, undefined, MAX_ERROR_BYTES);
    } catch (err) {
      const handshake = err instanceof ReleaseBotError && err.details.reason === 'network' && !this.signal.aborted;
      if (!(handshake && !this.access.tlsVerify && isLoopback(this.base.hostname))) throw err;
      this.base = new URL(`http://${this.host}`);
      reply = await this.raw('GET', this.resolve('/v2/'), {}, undefined, MAX_ERROR_BYTES);
    }
    if (reply.status === 401) {
      const challenge = parseChallenge(header(reply.headers, 'www-authenticate'));
      if (challenge?.scheme === 'bearer' && challenge.params.realm) {
        this.bearer = challenge;
        await this.fetchToken(challenge);
      } else if (challenge?.scheme === 'basic') {
        this.authorization = `Basic ${this.basicCredentials()}`;
      } else {
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${this.service.name} asks for an authentication it did not name (WWW-Authenticate: ${clip(this.redact(header(reply.headers, 'www-authenticate') ?? 'absent'), 120)}): only Basic and Bearer are supported`,
          { details: { reason: 'auth' } },
        );
      }
    } else if (reply.status !== 200) {
      throw httpError(
        { redact: this.redact },
        this.service,
        'GET /v2/',
        reply.status,
        toHeaders(reply.headers),
        reply.body.toString('utf8'),
      );
    }
    this.pinged = true;
  }

  private basicCredentials(): string {
    const { username, password } = this.access;
    if (!username || !password) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${this.service.name} asks for credentials and none were given: map REGISTRY_USERNAME and REGISTRY_PASSWORD to Conjur variables in this destination's credentials`,
        { details: { reason: 'auth' } },
      );
    }
    const encoded = Buffer.from(`${username}:${password}`).toString('base64');
    this.local.add(encoded);
    return encoded;
  }

  /** token.md "Requesting a Token": GET realm?service=…&scope=repository:<path>:<actions>, Basic credentials when there are some. */
  private async fetchToken(challenge: Challenge): Promise<void> {
    let realm: URL;
    try {
      realm = new URL(challenge.params.realm as string);
    } catch {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${this.service.name} names a token service that is not a URL (${clip(this.redact(challenge.params.realm ?? ''), 120)})`,
        { details: { reason: 'auth' } },
      );
    }
    // The credentials go to the realm: never in clear over a network, never to a URL with a scheme we do not speak.
    if (!(realm.protocol === 'https:' || (realm.protocol === 'http:' && isLoopback(realm.hostname)))) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${this.service.name} sends us for a token to ${clip(this.redact(realm.origin), 120)}: only https (or http on loopback) is accepted, credentials are sent there`,
        { details: { reason: 'auth' } },
      );
    }
    if (challenge.params.service) realm.searchParams.set('service', challenge.params.service);
    realm.searchParams.set('scope', `repository:${this.repoPath}:${this.actions}`);
    const headers: Record<string, string> = {};
    if (this.access.username && this.access.password) headers.Authorization = `Basic ${this.basicCredentials()}`;
    const tokenService: Service = { name: `the token service of ${this.host}`, credential: this.service.credential };
    const reply = await this.raw('GET', realm, headers, undefined, MAX_TOKEN_BYTES);
    if (reply.status !== 200)
      throw httpError(
        { redact: this.redact },
        tokenService,
        `GET ${this.redact(realm.pathname)}`,
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
    this.local.add(token);
    this.authorization = `Bearer ${token}`;
  }

  private resolve(url: string): URL {
    return new URL(url, this.base);
  }

  /** Sends with our Authorization; GET/HEAD follow redirects (blob storage), dropping it on another origin. */
  private async send(c: Call): Promise<Reply> {
    let url = this.resolve(c.url);
    const limit = c.limit ?? MAX_ERROR_BYTES;
    for (let hop = 0; ; hop += 1) {
      const sameOrigin = url.origin === this.base.origin;
      const headers = { ...(c.headers ?? {}), ...(sameOrigin && this.authorization ? { Authorization: this.authorization } : {}) };
      const reply = { ...(await this.raw(c.method, url, headers, c.body, limit)), from: url };
      const location = header(reply.headers, 'location');
      if (!(c.method === 'GET' || c.method === 'HEAD') || ![301, 302, 303, 307, 308].includes(reply.status) || !location) return reply;
      if (hop >= MAX_REDIRECTS)
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${this.service.name} redirected ${c.method} ${this.redact(url.pathname)} more than ${MAX_REDIRECTS} times`,
          { retryable: true },
        );
      const next = new URL(location, url);
      if (next.protocol === 'http:' && url.protocol === 'https:' && !isLoopback(next.hostname)) {
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${this.service.name} redirected ${c.method} ${this.redact(url.pathname)} from https to plain http: refused`,
        );
      }
      url = next;
    }
  }

  /** One HTTP exchange; the body is read up to `limit` bytes and a longer one is refused. */
  private raw(method: string, url: URL, headers: Record<string, string>, body: Buffer | undefined, limit: number): Promise<Reply> {
    const where = `${method} ${this.redact(url.pathname)}`;
    const transport = url.protocol === 'https:' ? https : http;
    const options: https.RequestOptions = {
      method,
      headers: {
        'User-Agent': 'release-bot',
        ...headers,
        ...(body || method === 'POST' || method === 'PUT' ? { 'Content-Length': String(body?.length ?? 0) } : {}),
      },
      signal: this.signal,
      agent: false,
      ...(url.protocol === 'https:' ? { rejectUnauthorized: this.access.tlsVerify } : {}),
    };
    return new Promise<Reply>((resolve, reject) => {
      const fail = (err: unknown) => {
        if (this.signal.aborted) return reject(timedOut(`${this.service.name} ${where}`));
        if (err instanceof ReleaseBotError) return reject(err);
        const code = (err as { code?: unknown }).code;
        const what = typeof code === 'string' ? code : clip(this.redact(String((err as Error).message ?? err)), 120);
        if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(what)) {
          // An untrusted certificate stays untrusted: retrying cannot help, and it may be someone in between.
          return reject(
            new ReleaseBotError(
              ErrorCode.DestinationFailed,
              `the TLS certificate of ${this.service.name} is not trusted (${what} on ${where}): give the registry a certificate the release machine trusts (tls_verify: false only for a test registry)`,
              { details: { reason: 'tls', code: what } },
            ),
          );
        }
        reject(
          new ReleaseBotError(ErrorCode.DestinationFailed, `could not reach ${this.service.name} (${where}): ${what}`, {
            retryable: true,
            details: { reason: 'network', code: what },
          }),
        );
      };
      const req = transport.request(url, options, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > limit) {
            res.destroy();
            req.destroy();
            const ok = (res.statusCode ?? 0) < 300;
            reject(
              new ReleaseBotError(
                ErrorCode.DestinationFailed,
                `${this.service.name} answered ${where} with more than ${limit} bytes${ok ? ': refused unread' : ` (status ${res.statusCode})`}`,
                { retryable: !ok, details: { reason: ok ? 'too-large' : 'server', status: res.statusCode } },
              ),
            );
            return;
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
        res.on('error', fail);
      });
      req.on('error', fail);
      req.end(body);
    });
  }
}

function header(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function toHeaders(headers: http.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v === 'string') out.set(k, v);
    else if (Array.isArray(v)) for (const one of v) out.append(k, one);
  }
  return out;
}

import { createHash } from 'node:crypto';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { Redactor } from '../src/redact.js';
import { clip } from '../src/validate.js';
import { httpError, type Service } from './http.js';
import { exchange, isLoopback, replyHeader as header, toHeaders, type Link, type Reply } from './docker/registry-exchange.js';
import { fetchToken, parseChallenge, type Challenge } from './docker/registry-token.js';
import { registryCas } from './docker/registry-trust.js';

export { isLoopback, type Reply } from './docker/registry-exchange.js';
export { parseChallenge } from './docker/registry-token.js';

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
const MAX_ERROR_BYTES = 64 * 1024;
const MAX_REDIRECTS = 5;
const DEFAULT_TIMEOUT_MS = 120_000;

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

/**
 * HTTPS always first. tls_verify false skips the certificate check and, like skopeo, falls back to plain
 * HTTP when the TLS handshake fails, but on a loopback registry only, or for a client given no credential
 * (the staging registry, read anonymously): a credential never crosses a network in clear.
 */
export class RegistryClient {
  private base: URL;
  readonly service: Service;
  private readonly local = new Redactor();
  private readonly signal: AbortSignal;
  private readonly link: Link;
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
    this.link = {
      tlsVerify: access.tlsVerify,
      ca: access.tlsVerify ? registryCas(host) : undefined,
      signal: this.signal,
      redact: (text) => this.redact(text),
      service: this.service,
    };
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
      const challenge = parseChallenge(header(reply, 'www-authenticate'));
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
    if (reply.status === 401 && parseChallenge(header(reply, 'www-authenticate'))?.params.error === 'insufficient_scope') {
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
      const anonymous = !this.access.username && !this.access.password;
      if (!(handshake && !this.access.tlsVerify && (isLoopback(this.base.hostname) || anonymous))) throw err;
      this.base = new URL(`http://${this.host}`);
      reply = await this.raw('GET', this.resolve('/v2/'), {}, undefined, MAX_ERROR_BYTES);
    }
    if (reply.status === 401) {
      const challenge = parseChallenge(header(reply, 'www-authenticate'));
      if (challenge?.scheme === 'bearer' && challenge.params.realm) {
        this.bearer = challenge;
        await this.fetchToken(challenge);
      } else if (challenge?.scheme === 'basic') {
        this.authorization = `Basic ${this.basicCredentials()}`;
      } else {
        throw new ReleaseBotError(
          ErrorCode.DestinationFailed,
          `${this.service.name} asks for an authentication it did not name (WWW-Authenticate: ${clip(this.redact(header(reply, 'www-authenticate') ?? 'absent'), 120)}): only Basic and Bearer are supported`,
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

  /** A token for this repository and these actions, asked with our credentials when we have some. */
  private async fetchToken(challenge: Challenge): Promise<void> {
    const basic = this.access.username && this.access.password ? this.basicCredentials() : undefined;
    const token = await fetchToken(challenge, { link: this.link, host: this.host, repoPath: this.repoPath, actions: this.actions, basic });
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
      const location = header(reply, 'location');
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

  private raw(method: string, url: URL, headers: Record<string, string>, body: Buffer | undefined, limit: number): Promise<Reply> {
    return exchange(this.link, method, url, headers, body, limit);
  }
}

/**
 * A manifest by tag or digest, asked for as any kind a release publishes (OCI index and manifest,
 * Docker list and manifest); undefined when the registry has no such reference. HEAD answers only
 * the headers (Docker-Content-Digest), GET the bytes too.
 */
export async function fetchManifest(client: RegistryClient, method: 'GET' | 'HEAD', reference: string): Promise<Reply | undefined> {
  const reply = await client.call({
    method,
    url: client.repoUrl(`manifests/${reference}`),
    headers: { Accept: ANY_MANIFEST },
    expect: [404],
    ...(method === 'GET' ? { limit: MAX_MANIFEST_BYTES } : {}),
  });
  return reply.status === 404 ? undefined : reply;
}

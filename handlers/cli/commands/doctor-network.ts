import net from 'node:net';
import { jwksUsableKeys } from '../../jenkins/jwks.js';
import type { Config, DestinationConfig } from '../../../src/config/load.js';
import { parseRepository } from '../../../src/staging/skopeo.js';

/** One line of `release-bot doctor`: what was checked, and what to do when it failed. */
export interface Check {
  ok: boolean;
  name: string;
  detail: string;
}

export const NETWORK_TIMEOUT_MS = 5_000;

/**
 * The bot token scopes the bot calls need (deploy/slack/manifest.yml says why each is there):
 * users:read.email only when the login comes from the email address.
 */
export function requiredSlackScopes(identity: Pick<Config['identity'], 'strategy'>): string[] {
  return ['commands', 'chat:write', 'users:read', ...(identity.strategy === 'email-localpart' ? ['users:read.email'] : [])];
}

/** Slack's answers to a token it does not take: the token is the fix, whatever the exact code. */
const SLACK_TOKEN_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'token_revoked',
  'token_expired',
  'account_inactive',
  'not_allowed_token_type',
]);

type Probe = { status: number; headers: Headers; text: string } | { problem: string };

/** A network failure in an operator's words: which part failed (name, connection, TLS, time). */
function networkProblem(err: unknown, timeoutMs: number): string {
  const e = err as { name?: string; code?: string; message?: string; cause?: { code?: string; message?: string } };
  if (e.name === 'TimeoutError' || e.name === 'AbortError')
    return `no answer within ${timeoutMs / 1000} s: check the host, the port and any firewall or proxy in between`;
  const code = e.cause?.code ?? e.code ?? '';
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN')
    return `the host name does not resolve (${code}): check its spelling and the machine's DNS`;
  if (code === 'ECONNREFUSED') return 'the connection was refused (ECONNREFUSED): nothing listens there; check the host and the port';
  if (code === 'ECONNRESET') return 'the connection was reset (ECONNRESET): a firewall or proxy may be in between';
  if (/CERT|SSL|TLS|SELF_SIGNED/.test(code))
    return `TLS failed (${code}): the server's certificate is not trusted by this machine; install its CA in the system store`;
  return `${code || e.cause?.message || e.message || 'the request failed'}`;
}

/** One GET with a timeout, following no redirect, sending no credential; the body is read up to 64 KiB. */
async function get(url: string, headers: Record<string, string> = {}, method = 'GET', timeoutMs = NETWORK_TIMEOUT_MS): Promise<Probe> {
  try {
    const res = await fetch(url, {
      method,
      headers: { 'user-agent': 'release-bot doctor', ...headers },
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = (await res.text()).slice(0, 64 * 1024);
    return { status: res.status, headers: res.headers, text };
  } catch (err) {
    return { problem: networkProblem(err, timeoutMs) };
  }
}

/**
 * Slack `auth.test` with the bot token, and the token's scopes as Slack reports them on every Web API
 * answer: the `x-oauth-scopes` header, a comma-separated list (read the same way as
 * slackapi/node-slack-sdk packages/web-api/src/WebClient.ts buildResult: trim, split on /\s*,\s*\/).
 */
export async function slackChecks(env: Config['env'], identity: Config['identity']): Promise<Check[]> {
  const token = env.SLACK_BOT_TOKEN;
  if (!token) return [];
  const api = env.SLACK_API_URL
    ? env.SLACK_API_URL.endsWith('/')
      ? env.SLACK_API_URL
      : `${env.SLACK_API_URL}/`
    : 'https://slack.com/api/';
  const name = 'Slack bot token';
  const got = await get(`${api}auth.test`, { authorization: `Bearer ${token}` }, 'POST');
  if ('problem' in got)
    return [{ ok: false, name, detail: `${api}auth.test: ${got.problem}${env.SLACK_API_URL ? ' (SLACK_API_URL)' : ''}` }];
  let body: { ok?: unknown; error?: unknown; team?: unknown; user?: unknown };
  try {
    body = JSON.parse(got.text) as typeof body;
  } catch {
    return [{ ok: false, name, detail: `${api}auth.test answered HTTP ${got.status} without JSON: is SLACK_API_URL the Slack Web API?` }];
  }
  if (body.ok !== true) {
    const error = typeof body.error === 'string' ? body.error.slice(0, 60) : `HTTP ${got.status}`;
    return [
      {
        ok: false,
        name,
        detail: SLACK_TOKEN_ERRORS.has(error)
          ? `Slack refused SLACK_BOT_TOKEN (${error}): copy the Bot User OAuth Token (xoxb-...) from api.slack.com/apps -> your app -> OAuth & Permissions into SLACK_BOT_TOKEN, reinstalling the app if it was revoked`
          : `auth.test failed (${error}): see https://api.slack.com/methods/auth.test`,
      },
    ];
  }
  const who = `${typeof body.user === 'string' ? body.user : '?'} in ${typeof body.team === 'string' ? body.team : '?'}`;
  const header = got.headers.get('x-oauth-scopes');
  const checks: Check[] = [{ ok: true, name, detail: `auth.test ok (${who})` }];
  if (header === null) {
    checks.push({
      ok: false,
      name: 'Slack scopes',
      detail:
        'Slack named no scopes (no x-oauth-scopes header): is SLACK_BOT_TOKEN a bot token (xoxb-...) and SLACK_API_URL the Slack Web API?',
    });
    return checks;
  }
  const granted = new Set(header.trim().split(/\s*,\s*/));
  const missing = requiredSlackScopes(identity).filter((s) => !granted.has(s));
  checks.push(
    missing.length === 0
      ? { ok: true, name: 'Slack scopes', detail: requiredSlackScopes(identity).join(', ') }
      : {
          ok: false,
          name: 'Slack scopes',
          detail: `the bot token lacks ${missing.join(', ')}: add ${missing.length === 1 ? 'it' : 'them'} under OAuth & Permissions -> Bot Token Scopes (deploy/slack/manifest.yml lists them) and reinstall the app to the workspace`,
        },
  );
  return checks;
}

/** The Jenkins JWKS URL: fetched without credentials as the webhook fetches it, JSON, at least one usable key. */
export async function jwksCheck(url: string | undefined): Promise<Check[]> {
  if (!url) return [];
  const name = `Jenkins JWKS ${url}`;
  const got = await get(url, { accept: 'application/json' });
  if ('problem' in got) return [{ ok: false, name, detail: `${got.problem} (JENKINS_JWKS_URL)` }];
  if (got.status === 401 || got.status === 403) {
    return [
      {
        ok: false,
        name,
        detail: `answers ${got.status}: the bot reads it without credentials, so it must be public; point JENKINS_JWKS_URL at the OIDC provider's key set (<issuer>/jwks for Jenkins' OIDC provider plugin)`,
      },
    ];
  }
  if (got.status >= 300 && got.status < 400)
    return [
      {
        ok: false,
        name,
        detail: `answers ${got.status} (a redirect to ${got.headers.get('location') ?? '?'}): the bot follows no redirect; put the final URL in JENKINS_JWKS_URL`,
      },
    ];
  if (got.status !== 200)
    return [
      { ok: false, name, detail: `answers HTTP ${got.status}: check JENKINS_JWKS_URL (<issuer>/jwks for Jenkins' OIDC provider plugin)` },
    ];
  let doc: unknown;
  try {
    doc = JSON.parse(got.text);
  } catch {
    return [{ ok: false, name, detail: 'is not JSON: JENKINS_JWKS_URL must be a JWKS document ({"keys": [...]})' }];
  }
  const keys = jwksUsableKeys(doc);
  if (keys === undefined)
    return [{ ok: false, name, detail: 'has no "keys" array: JENKINS_JWKS_URL must be a JWKS document ({"keys": [...]})' }];
  const rs256 = keys.filter((k) => k.alg === 'RS256').length;
  const es256 = keys.length - rs256;
  if (keys.length === 0)
    return [
      { ok: false, name, detail: 'holds no RS256 (RSA, 2048 bits or more) or ES256 (P-256) signing key: no token could be verified' },
    ];
  return [{ ok: true, name, detail: `${rs256} RS256 and ${es256} ES256 key(s)` }];
}

/** A TCP connection; for ssh, the server's first line must be an SSH version banner (RFC 4253, 4.2). */
export function tcpProbe(host: string, port: number, banner?: RegExp, timeoutMs = NETWORK_TIMEOUT_MS): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = '';
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.setTimeout(timeoutMs, () =>
      done(
        banner
          ? `connected, but no ${banner.source} banner within ${timeoutMs / 1000} s: is this an ssh server?`
          : `no answer within ${timeoutMs / 1000} s`,
      ),
    );
    socket.once('connect', () => {
      if (!banner) done(undefined);
    });
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      if (!received.includes('\n') && received.length < 256) return;
      done(
        banner && !banner.test(received)
          ? `connected, but it does not speak ssh (it said ${JSON.stringify(received.split('\n')[0]?.slice(0, 40))})`
          : undefined,
      );
    });
    socket.once('error', (err: NodeJS.ErrnoException) => done(networkProblem(err, timeoutMs)));
  });
}

/** Where a destination of each type is reached, and how, with nothing written and no credential sent. */
type Reach = { url: string; headers?: Record<string, string>; expect: string } | { host: string; port: number; banner?: RegExp };

function reachOf(d: DestinationConfig): Reach | undefined {
  const o = d.options as Record<string, unknown>;
  const base = (u: unknown) => String(u).replace(/\/+$/, '');
  switch (d.type) {
    case 'docker': {
      // The registry API's version check (distribution spec: GET /v2/), answered 200 or 401 (a login is needed).
      const { host } = parseRepository(String(o.repository));
      const registry = host === 'docker.io' ? 'registry-1.docker.io' : host;
      return { url: `${o.tls_verify === false ? 'http' : 'https'}://${registry}/v2/`, expect: 'registry API v2' };
    }
    case 'npm':
      // What `npm ping` asks (npm/cli lib/utils/ping.js: GET <registry>/-/ping).
      return { url: `${base(o.registry)}/-/ping`, expect: 'npm registry' };
    case 'rubygems':
      return { url: `${base(o.host)}/`, expect: 'gem server' };
    case 'github':
      return { url: `${base(o.api_url)}/`, headers: { accept: 'application/vnd.github+json' }, expect: 'GitHub API' };
    case 'heroku':
      return { url: `${base(o.api_url)}/`, headers: { accept: 'application/vnd.heroku+json; version=3' }, expect: 'Heroku Platform API' };
    case 'ssh':
      return { host: String(o.host), port: Number(o.port), banner: /^SSH-2\.0-/ };
    default:
      return undefined; // exec and directory: nothing to reach but this machine
  }
}

/**
 * Each destination's service answers, where asking needs no write and no credential: an HTTP answer
 * below 500 (a 401 included: it came from the service) or an ssh banner. Destinations that share an
 * address are asked once.
 */
export async function destinationChecks(projects: Config['projects']): Promise<Check[]> {
  const byTarget = new Map<string, { reach: Reach; names: string[] }>();
  for (const project of projects.values()) {
    for (const d of project.destinations) {
      const reach = reachOf(d);
      if (!reach) continue;
      const key = 'url' in reach ? reach.url : `${reach.host}:${reach.port}`;
      const entry = byTarget.get(key) ?? { reach, names: [] };
      entry.names.push(`${project.name}/${d.name}`);
      byTarget.set(key, entry);
    }
  }
  const checks: Check[] = [];
  for (const [target, { reach, names }] of [...byTarget].sort(([a], [b]) => a.localeCompare(b))) {
    const name = `destination ${names.join(', ')} (${target})`;
    if (!('url' in reach)) {
      const problem = await tcpProbe(reach.host, reach.port, reach.banner);
      checks.push({ ok: problem === undefined, name, detail: problem ?? 'ssh server answers' });
      continue;
    }
    const got = await get(reach.url, reach.headers);
    if ('problem' in got) checks.push({ ok: false, name, detail: got.problem });
    else if (got.status >= 500)
      checks.push({
        ok: false,
        name,
        detail: `answers HTTP ${got.status}: the ${reach.expect} is down or failing; releases to it will fail until it is back`,
      });
    else checks.push({ ok: true, name, detail: `${reach.expect} answers (HTTP ${got.status})` });
  }
  return checks;
}

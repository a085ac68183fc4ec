import type { Logger } from 'pino';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { clip } from '../validate.js';
import { httpRequest, type HttpResponse } from './http-request.js';
import { assertAccount, assertConjurId, roleOfLogin, segment } from './ids.js';
import { ApiKeyTokenSource, FileTokenSource, normalizeToken, registerToken, type TokenSource } from './token-source.js';
import { assertCloudAccount, conjurCa, parseApplianceUrl } from './appliance.js';
import { conjurErrorCode, conjurErrorHint, type ErrorSubject } from './error-codes.js';
import { registerSecret, secretFromBytes, type SecretValue } from './secret-value.js';
import type { Conjur, SentinelState } from './types.js';

export interface ConjurClientOptions {
  /** CONJUR_APPLIANCE_URL, e.g. https://conjur.example.com (a path prefix is kept; Conjur Cloud gets /api). */
  applianceUrl: string;
  /** CONJUR_ACCOUNT */
  account: string;
  /** CONJUR_AUTHN_LOGIN: `alice` or `host/release-bot` */
  login: string;
  /** CONJUR_AUTHN_API_KEY; ignored when tokenFile is set (as Conjur's own clients do). */
  apiKey?: string;
  /** CONJUR_AUTHN_TOKEN_FILE: a file holding a ready token, raw JSON or base64. */
  tokenFile?: string;
  /** CONJUR_CERT_FILE: PEM of the CA to trust for an https appliance URL. */
  certFile?: string;
  /** CONJUR_SSL_CERTIFICATE: that PEM itself (not with certFile). */
  sslCertificate?: string;
  redactor: Redactor;
  /** Per request, connect to last byte; default 10 s. */
  timeoutMs?: number;
  /** Milliseconds since the epoch; tests move it to age the token. */
  now?: () => number;
  log?: Logger;
}

type Call = { method: 'GET' | 'POST'; path: string; query?: string; what: string; headers?: Record<string, string> };

/**
 * The privilege a release group holds on its membership sentinel, a `!webservice` with the group's
 * id declared next to it (deploy/conjur/policy.yml). Conjur allows any privilege name on a permit.
 */
export const MEMBERSHIP_PRIVILEGE = 'release';

/** The policy a group's sentinel needs, in the operator's words. */
export function sentinelFix(group: string, botLogin: string): string {
  return `Declare !webservice ${group} in the policy that declares the group (so it has the same owner), permit the group ${MEMBERSHIP_PRIVILEGE} and ${botLogin} read on it (deploy/conjur/policy.yml)`;
}

/** A small client for the slice of Conjur's REST API the bot uses. Every doubt throws: callers fail closed. */
export class ConjurClient implements Conjur {
  private readonly base: URL;
  private readonly account: string;
  private readonly login: string;
  private readonly ca: string | undefined;
  private readonly redactor: Redactor;
  private readonly timeoutMs: number;
  private readonly log: Logger | undefined;
  private readonly tokens: TokenSource;

  constructor(options: ConjurClientOptions) {
    this.redactor = options.redactor;
    // Registered first, so not even a constructor error below can carry it.
    this.redactor.add(options.apiKey);
    this.base = parseApplianceUrl(options.applianceUrl);
    this.account = assertAccount(options.account);
    assertCloudAccount(this.base, this.account);
    try {
      roleOfLogin(options.login);
    } catch {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        `CONJUR_AUTHN_LOGIN ${JSON.stringify(clip(String(options.login)))} is not a Conjur login: use a user id such as alice or host/<host id> such as host/release-bot`,
      );
    }
    this.login = options.login;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.log = options.log;
    this.ca = conjurCa({ certFile: options.certFile, sslCertificate: options.sslCertificate });
    const now = options.now ?? Date.now;
    if (options.tokenFile) {
      this.tokens = new FileTokenSource(options.tokenFile, this.redactor);
    } else if (options.apiKey) {
      const apiKey = options.apiKey;
      this.tokens = new ApiKeyTokenSource(() => this.authenticate(apiKey), now);
    } else {
      throw new ReleaseBotError(
        ErrorCode.ConfigInvalid,
        "neither CONJUR_AUTHN_API_KEY nor CONJUR_AUTHN_TOKEN_FILE is set: put the bot's API key or the path of a token file in .env (see .env.example)",
      );
    }
    if (this.base.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(this.base.hostname)) {
      this.log?.warn({ url: this.base.origin }, 'CONJUR_APPLIANCE_URL is plain http: tokens and secrets cross the network unencrypted');
    }
  }

  async whoami(): Promise<{ account: string; username: string }> {
    const what = 'ask Conjur who the bot is';
    const res = expectOk(await this.call({ method: 'GET', path: '/whoami', what }), what, this.login);
    const body = parseJson(res, 'GET /whoami') as Record<string, unknown> | null;
    if (!body || typeof body.account !== 'string' || typeof body.username !== 'string') {
      throw unexpected('GET /whoami did not return {account, username}');
    }
    return { account: body.account, username: body.username };
  }

  /**
   * Whether `login` belongs to `group` as Conjur itself defines it: `group` is among the person's
   * `all_roles`, every role reachable upwards through `role_memberships`, which holds the grants of
   * policy and one ownership row per owned role (the owner of a role holds it: a policy's owners
   * and their members belong to every group the policy declares). Both ways of asking below are
   * computed by Conjur over those same rows, so they agree by construction; the bot never walks
   * the graph itself.
   *
   * 1. The group's membership sentinel, one request: `roles_that_can(release, webservice <group>)`
   *    is every role holding `release` on it, plus its owner, closed downwards over
   *    role_memberships, ownership rows included, with no visibility filter on the roles it passes
   *    through (cyberark/conjur app/controllers/resources_controller.rb#permitted_roles,
   *    db/migrate/20160705141848_create_authz_functions.rb). Only the group holds `release` and
   *    the sentinel has the group's owner, so that is exactly the group's members, hidden nested
   *    groups included. Needs `read` on the sentinel (concerns/find_resource.rb).
   * 2. No sentinel visible (404): the person's `?all`, which Conjur 1.19.3 and later answer only
   *    when the bot holds a privilege on the person.
   * 3. Neither visible: MembershipUndetermined, a refusal naming the fix (fail closed).
   */
  async isMember(login: string, group: string): Promise<boolean> {
    const role = roleOfLogin(login);
    assertConjurId(group, 'group');
    const person = `${this.account}:${role.kind}:${role.id}`;
    const holders = await this.sentinelHolders(group);
    if (holders !== undefined) {
      const member = holders.includes(person);
      this.log?.debug({ login, group, member, via: 'sentinel' }, 'checked Conjur group membership');
      return member;
    }
    const what = `read the group memberships of ${role.kind} ${role.id}`;
    const res = await this.call({
      method: 'GET',
      path: `/roles/${segment(this.account)}/${role.kind}/${segment(role.id)}`,
      query: 'all',
      what,
    });
    if (res.status === 404) {
      this.log?.warn(
        { login, group },
        "Conjur group membership undetermined: the bot sees neither the group's membership sentinel nor the person (declare the sentinel, deploy/conjur/README.md)",
      );
      throw new ReleaseBotError(
        ErrorCode.MembershipUndetermined,
        `cannot tell whether ${login} is a member of the Conjur group ${group}: Conjur shows ${this.login} neither the group's membership sentinel (!webservice ${group}) nor ${role.kind} ${role.id}. ${sentinelFix(group, this.login)}`,
        { details: { group, sentinel: `webservice:${group}` } },
      );
    }
    expectOk(res, what, this.login);
    const body = parseJson(res, 'GET /roles ?all');
    // Conjur answers `?all` with an array of role ids. Anything else is refused rather than interpreted:
    // the object form is a role's own description, whose `members` are roles granted the user, not the
    // groups the user belongs to, so reading it as memberships would let the wrong people in.
    if (!Array.isArray(body) || !body.every((r): r is string => typeof r === 'string')) {
      throw unexpected(`GET /roles/${this.account}/${role.kind}/${role.id}?all did not return an array of role ids`);
    }
    const wanted = `${this.account}:group:${group}`;
    const member = body.includes(wanted);
    this.log?.debug({ login, group, member, via: 'all' }, 'checked Conjur group membership');
    return member;
  }

  /**
   * Whether the membership sentinel of `group` is in place: `ok` (visible to the bot, and the group
   * holds `release` on it), `missing` (not declared, or the bot may not read it) or
   * `group-not-permitted` (visible, but the group is not among the roles holding `release`).
   * For `/readyz` and `doctor`.
   */
  async membershipSentinel(group: string): Promise<SentinelState> {
    assertConjurId(group, 'group');
    try {
      return (await this.sentinelHolders(group)) === undefined ? 'missing' : 'ok';
    } catch (err) {
      if (err instanceof ReleaseBotError && err.code === ErrorCode.MembershipUndetermined) return 'group-not-permitted';
      throw err;
    }
  }

  /** Every role id Conjur lists as holding `release` on the sentinel, or undefined when the bot cannot see it (404). */
  private async sentinelHolders(group: string): Promise<string[] | undefined> {
    const what = `list the roles holding ${MEMBERSHIP_PRIVILEGE} on the membership sentinel webservice ${group}`;
    const res = await this.call({
      method: 'GET',
      path: `/resources/${segment(this.account)}/webservice/${segment(group)}`,
      query: `permitted_roles=true&privilege=${MEMBERSHIP_PRIVILEGE}`,
      what,
    });
    if (res.status === 404) return undefined;
    expectOk(res, what, this.login);
    const body = parseJson(res, 'GET /resources ?permitted_roles');
    if (!Array.isArray(body) || !body.every((r): r is string => typeof r === 'string')) {
      throw unexpected(`GET /resources/${this.account}/webservice/${group}?permitted_roles did not return an array of role ids`);
    }
    // The group itself holds the privilege, so it is always listed; when it is not, the sentinel is
    // someone else's (or its permit is missing), and the list cannot be read as the group's members.
    if (!body.includes(`${this.account}:group:${group}`)) {
      this.log?.warn({ group }, 'the Conjur membership sentinel does not permit its group: membership undetermined');
      throw new ReleaseBotError(
        ErrorCode.MembershipUndetermined,
        `the membership sentinel !webservice ${group} does not permit the group ${group} (privilege ${MEMBERSHIP_PRIVILEGE}), so its answer is not that group's members. ${sentinelFix(group, this.login)}`,
        { details: { group, sentinel: `webservice:${group}` } },
      );
    }
    return body;
  }

  /**
   * Every value in one batch, asked with `Accept-Encoding: base64` so binary values travel too:
   * without it Conjur answers 406 CONJ00074E for a batch holding a value that is not UTF-8, and with
   * it answers `Content-Encoding: base64` and each value as Ruby's Base64.encode64 (60 characters a
   * line) (cyberark/conjur app/controllers/secrets_controller.rb#batch; the header must be exactly
   * `base64`, compared case-insensitively). A server that ignores the header sends plain text values.
   */
  async getSecrets(variableIds: readonly string[]): Promise<Map<string, SecretValue>> {
    const ids = [...new Set(variableIds.map((id) => assertConjurId(id, 'variable')))];
    const result = new Map<string, SecretValue>();
    if (ids.length === 0) return result;
    const qualified = ids.map((id) => `${this.account}:variable:${id}`);
    const what = `read the variables ${ids.join(', ')}`;
    const res = await this.call({
      method: 'GET',
      path: '/secrets',
      query: `variable_ids=${qualified.map(segment).join(',')}`,
      what,
      headers: { 'Accept-Encoding': 'base64' },
    });
    const code = conjurErrorCode(res.body);
    if (res.status === 406 || code === 'CONJ00074E') {
      throw new ReleaseBotError(
        ErrorCode.ConjurUnavailable,
        conjurErrorHint('CONJ00074E', { variables: ids, login: this.login }) as string,
        { details: { variables: ids, status: res.status, conjurCode: code } },
      );
    }
    if (res.status === 404) {
      // Only ids we asked for are ever named: Conjur's own text is matched against them, never repeated.
      const named = ids.filter((_, i) => mentions(res.body, qualified[i] as string));
      const missing = named.length > 0 ? named : ids;
      const which = named.length > 0 ? `the Conjur variable ${named.join(', ')}` : `at least one of the Conjur variables ${ids.join(', ')}`;
      const codeText = code === undefined ? '' : ` (${code})`;
      throw new ReleaseBotError(
        ErrorCode.ConjurNotFound,
        `${which} does not exist or has no value${codeText}: declare it in policy and set a value (conjur variable set -i <id> -v ...)`,
        { details: { missing, status: 404, ...(code ? { conjurCode: code } : {}) } },
      );
    }
    if (res.status === 403) {
      throw new ReleaseBotError(
        ErrorCode.ConjurForbidden,
        `the bot (${this.login}) may not read (execute) at least one of the Conjur variables ${ids.join(', ')}: permit it in policy`,
        { details: { variables: ids, status: 403 } },
      );
    }
    expectOk(res, what, this.login, { variables: ids, login: this.login });
    const body = parseJson(res, 'GET /secrets') as Record<string, unknown> | null;
    if (!body || typeof body !== 'object' || Array.isArray(body)) throw unexpected('GET /secrets did not return an object');
    const base64 = String(res.headers['content-encoding'] ?? '').toLowerCase() === 'base64';
    // Registered before anything else looks at them, so no later error or log line can show one:
    // the wire form first, then the value it decodes to.
    for (const wire of Object.values(body)) if (typeof wire === 'string') this.redactor.add(wire);
    const values = new Map<string, SecretValue>();
    for (const [key, wire] of Object.entries(body)) {
      if (typeof wire !== 'string') continue;
      if (base64 && !/^[A-Za-z0-9+/=\r\n]*$/.test(wire))
        throw unexpected(`GET /secrets said Content-Encoding: base64, but a value is not base64`);
      const value = base64 ? secretFromBytes(Buffer.from(wire, 'base64')) : wire;
      registerSecret(this.redactor, value);
      values.set(key, value);
    }
    ids.forEach((id, i) => {
      const value = values.get(qualified[i] as string);
      if (value === undefined) {
        throw new ReleaseBotError(ErrorCode.ConjurNotFound, `Conjur returned no value for the variable ${id}`, {
          details: { missing: [id] },
        });
      }
      result.set(id, value);
    });
    this.log?.debug({ variables: ids }, 'fetched Conjur variables');
    return result;
  }

  async canRead(variableId: string): Promise<boolean> {
    assertConjurId(variableId, 'variable');
    const what = `check execute on the variable ${variableId}`;
    const res = await this.call({
      method: 'GET',
      path: `/resources/${segment(this.account)}/variable/${segment(variableId)}`,
      query: 'check=true&privilege=execute',
      what,
    });
    if (res.status === 204) return true;
    if (res.status === 404) return false;
    expectOk(res, what, this.login);
    throw unexpected(`the permission check on ${variableId} answered ${res.status} instead of 204 or 404`);
  }

  /** POST /authn: login + API key for a token, in the base64 form the header carries, with its own life. */
  private async authenticate(apiKey: string): Promise<{ base64: string; lifetimeMs?: number }> {
    const path = `/authn/${segment(this.account)}/${segment(this.login)}/authenticate`;
    const res = await this.send('POST', path, undefined, { 'Accept-Encoding': 'base64', 'Content-Type': 'text/plain' }, apiKey);
    if (res.status !== 200) throw statusError(res.status, `log in as ${this.login}`, this.login);
    // Asked for base64; a server that sends the JSON anyway is accepted too.
    const token = normalizeToken(res.body);
    if (!token) throw unexpected(`POST /authn for ${this.login} did not return an access token`);
    registerToken(this.redactor, token);
    this.log?.debug({ login: this.login, lifetimeMs: token.lifetimeMs }, 'authenticated to Conjur');
    return { base64: token.base64, ...(token.lifetimeMs === undefined ? {} : { lifetimeMs: token.lifetimeMs }) };
  }

  /** A call with the bot's token; a 401 gets one retry with a fresh token. Returns any status but 401. */
  private async call(c: Call): Promise<HttpResponse> {
    let token = await this.tokens.current();
    let res = await this.send(c.method, c.path, c.query, { ...c.headers, ...authHeader(token) });
    if (res.status === 401) {
      const fresh = await this.tokens.renew(token);
      if (fresh !== undefined) {
        this.log?.info('Conjur refused the cached token; retrying once with a fresh one');
        token = fresh;
        res = await this.send(c.method, c.path, c.query, { ...c.headers, ...authHeader(token) });
      }
    }
    if (res.status === 401) throw statusError(401, c.what, this.login);
    return res;
  }

  private async send(
    method: 'GET' | 'POST',
    path: string,
    query: string | undefined,
    headers: Record<string, string>,
    body?: string,
  ): Promise<HttpResponse> {
    const url = new URL(this.base.href);
    url.pathname = `${this.base.pathname.replace(/\/+$/, '')}${path}`;
    if (query !== undefined) url.search = `?${query}`;
    const started = Date.now();
    const res = await httpRequest({
      method,
      url,
      headers: { Accept: 'application/json', ...headers },
      body,
      ca: this.ca,
      timeoutMs: this.timeoutMs,
    });
    this.log?.debug({ method, path, status: res.status, ms: Date.now() - started }, 'conjur request');
    return res;
  }
}

function authHeader(token: string): Record<string, string> {
  return { Authorization: `Token token="${token}"` };
}

/** Whether Conjur's error text names `id` as a whole (not `release/a` inside `release/a-b`). */
function mentions(text: string, id: string): boolean {
  const esc = id.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`(^|[^A-Za-z0-9_.@/:-])${esc}($|[^A-Za-z0-9_.@/:-]|\\.($|[^A-Za-z0-9_@/-]))`).test(text);
}

function expectOk(res: HttpResponse, what: string, login: string, subject: ErrorSubject = { login }): HttpResponse {
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
function statusError(status: number, what: string, login: string): ReleaseBotError {
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

function unexpected(message: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.ConjurUnavailable, `unexpected answer from Conjur: ${message}`, { retryable: false });
}

function parseJson(res: HttpResponse, what: string): unknown {
  try {
    return JSON.parse(res.body);
  } catch {
    throw unexpected(`${what} did not return JSON`);
  }
}

import type { Logger } from 'pino';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { clip } from '../validate.js';
import { authHeader, expectOk, parseJson, statusError, unexpected } from './answers.js';
import { httpRequest, type HttpResponse } from './http-request.js';
import { assertAccount, assertConjurId, roleOfLogin, segment } from './ids.js';
import { ApiKeyTokenSource, FileTokenSource, normalizeToken, registerToken, type TokenSource } from './token-source.js';
import { assertCloudAccount, conjurCa, parseApplianceUrl } from './appliance.js';
import { batchRefusal, valuesFromBatch } from './secrets-batch.js';
import type { SecretValue } from './secret-value.js';
import { MEMBERSHIP_PRIVILEGE, sentinelFix } from './sentinel.js';
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

export { MEMBERSHIP_PRIVILEGE, sentinelFix } from './sentinel.js';

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
    if (ids.length === 0) return new Map();
    const batch = { ids, qualified: ids.map((id) => `${this.account}:variable:${id}`), login: this.login };
    const what = `read the variables ${ids.join(', ')}`;
    const res = await this.call({
      method: 'GET',
      path: '/secrets',
      query: `variable_ids=${batch.qualified.map(segment).join(',')}`,
      what,
      headers: { 'Accept-Encoding': 'base64' },
    });
    const refusal = batchRefusal(res, batch);
    if (refusal) throw refusal;
    expectOk(res, what, this.login, { variables: ids, login: this.login });
    const result = valuesFromBatch(res, batch, this.redactor);
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

/**
 * DEVELOPMENT STAND-IN for CyberArk Conjur: NOT Conjur and NOT a secret store.
 *
 * A loopback HTTP(S) server that answers the few Conjur REST calls release-bot makes, the way the real
 * server does (authn with an API key, `Token token="..."` on every other call, tokens that lapse after
 * 8 minutes, `/whoami`, batch `/secrets`, `/roles/...?all` as an array expanded through nested groups,
 * layers and ownership, `?members` as an array of grants (ownership rows included), optionally hiding roles from callers without a privilege on them,
 * `/resources/...?check=true`, and `/resources/.../webservice/...?permitted_roles=true` as Conjur's
 * `roles_that_can`, for release-bot's membership sentinels). It holds its data in memory, as given, for tests and `npm run demo`.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';

/** A role as Conjur names it inside an account: `user:alice`, `host:release-bot`, `group:release/conjur-cli`. */
export type RoleRef = `${'user' | 'host' | 'group' | 'layer' | 'policy'}:${string}`;

/** A webservice: its owner and, per privilege, the roles permitted it. */
export interface WebserviceSpec {
  owner: RoleRef;
  permissions: Record<string, RoleRef[]>;
}

/**
 * The membership sentinels deploy/conjur/policy.yml declares, one per group: `!webservice <group>`
 * in the group's policy (so owned as the group is; `owner`, default the root policy), the group
 * permitted `release`, the bot `read`.
 */
export function membershipSentinels(
  groups: readonly string[],
  options: { bot?: RoleRef; owner?: (group: string) => RoleRef } = {},
): Record<string, WebserviceSpec> {
  const bot = options.bot ?? 'host:release-bot';
  return Object.fromEntries(
    groups.map((g) => [
      g,
      { owner: options.owner?.(g) ?? 'policy:root', permissions: { release: [`group:${g}` as RoleRef], read: [bot] } },
    ]),
  );
}

export interface ConjurStandInOptions {
  account: string;
  /** Logins that may authenticate, with their API keys: `alice`, `host/release-bot`. */
  apiKeys: Record<string, string>;
  /** Group id -> its direct members (users, hosts, nested groups, layers). */
  groups?: Record<string, RoleRef[]>;
  /** Layer id -> its direct members (hosts, usually). */
  layers?: Record<string, RoleRef[]>;
  /**
   * Role -> its owner (`resources.owner_id`). Conjur makes the owner of a role a member of it, with
   * admin option: its ownership trigger inserts a `role_memberships` row (role, owner,
   * admin_option true, ownership true, no policy) whenever a resource gets an owner
   * (cyberark/conjur app/models/functions.rb, grant_role_membership_to_owner). So the owner of
   * `policy:release` is a member of `policy:release`, which owns (and so is a member of) every
   * group in it: `all_roles` counts all of that, and `?members` lists those rows.
   */
  owners?: Partial<Record<RoleRef, RoleRef>>;
  /**
   * Webservice id -> its owner (`resources.owner_id`) and, per privilege, the roles permitted it
   * (`permissions`). A webservice is a resource but not a role, so it has no ownership row. It is
   * visible to a caller as Conjur's `is_resource_visible` decides: the caller is its owner or holds
   * some privilege on it, directly or through its memberships
   * (cyberark/conjur db/migrate/20180422043957_resource_visibility.rb). release-bot's membership
   * sentinels are webservices (deploy/conjur/policy.yml).
   */
  webservices?: Record<string, WebserviceSpec>;
  /**
   * Variable id -> its value (undefined: declared, never set; a Buffer: bytes as stored, which need
   * not be UTF-8) and the roles that may read and execute it.
   */
  variables?: Record<string, { value?: string | Buffer; readers: RoleRef[] }>;
  /**
   * Role visibility as Conjur enforces it since 1.19.3: a role is visible (to `GET /roles/...`) only
   * to itself and to roles holding a privilege on it. When set, only the roles listed here (role ->
   * roles that may see it, through their memberships) are visible to others; the rest answer 404, as
   * if they did not exist. Absent: every role is visible (older Conjur).
   */
  visibility?: Partial<Record<RoleRef, RoleRef[]>>;
  /** Milliseconds since the epoch; tests move it to expire tokens. */
  now?: () => number;
  /**
   * Life of the access tokens it issues (default 8 minutes, Conjur's default for users and hosts:
   * `user_authorization_token_ttl`/`host_authorization_token_ttl`, lib/conjur/conjur_config.rb).
   * Whole seconds, as Conjur's `exp` is.
   */
  tokenLifetimeMs?: number;
  log?: Pick<Logger, 'warn'>;
  /** Serve https with this key and certificate (PEM) instead of http. */
  tls?: { key: string; cert: string };
  port?: number;
}

export interface RecordedRequest {
  method: string;
  /** As sent, still URL-encoded (`/authn/dev/host%2Frelease-bot/authenticate`). */
  path: string;
  query: string;
  /** The login whose token was presented, when it was valid. */
  login?: string;
  status: number;
}

export interface ConjurStandIn {
  url: string;
  port: number;
  /** Every request in order, for counting round trips. Never holds a header or a body. */
  requests: RecordedRequest[];
  close(): Promise<void>;
  /** true: answer 503 to everything; 'drop': close every connection unanswered; false: serve again. */
  setDown(down: boolean | 'drop'): void;
  addMember(group: string, member: RoleRef): void;
  removeMember(group: string, member: RoleRef): void;
  setVariable(id: string, value: string | Buffer | undefined, readers?: RoleRef[]): void;
  /** Declares (or, with undefined, deletes) a webservice: a membership sentinel appearing or going. */
  setWebservice(id: string, webservice: WebserviceSpec | undefined): void;
  /** Conjur's `all_roles(role)`: the role and every role it holds, upwards over grants and ownership rows (full ids, sorted). */
  allRoles(role: RoleRef): string[];
  /** Forgets every issued token, so the next call with one gets a 401. */
  revokeTokens(): void;
  /** How many requests it answered 401 (a token expired, revoked or forged, or a refused login). */
  unauthorizedCount(): number;
}

const TOKEN_LIFETIME_MS = 8 * 60_000;
/** Ruby's Base64.urlsafe_encode64, padded, as slosilo encodes a token's parts (lib/slosilo/jwt.rb `encode`). */
const b64urlPadded = (s: string | Buffer): string => Buffer.from(s).toString('base64').replace(/\+/g, '-').replace(/\//g, '_');

export async function startConjurStandIn(options: ConjurStandInOptions): Promise<ConjurStandIn> {
  const { account } = options;
  const now = options.now ?? Date.now;
  const groups = new Map(Object.entries(options.groups ?? {}).map(([g, m]) => [g, new Set<string>(m.map(checkRef))]));
  const layers = new Map(Object.entries(options.layers ?? {}).map(([l, m]) => [l, new Set<string>(m.map(checkRef))]));
  const owners = new Map(Object.entries(options.owners ?? {}).map(([r, o]) => [checkRef(r as RoleRef), checkRef(o as RoleRef)]));
  const webservice = (w: WebserviceSpec) => ({
    owner: checkRef(w.owner),
    permissions: new Map(Object.entries(w.permissions).map(([p, roles]) => [p, roles.map(checkRef)])),
  });
  const webservices = new Map(Object.entries(options.webservices ?? {}).map(([id, w]) => [id, webservice(w)]));
  const variables = new Map(
    Object.entries(options.variables ?? {}).map(([id, v]) => [id, { value: v.value, readers: new Set<string>(v.readers.map(checkRef)) }]),
  );
  const tokens = new Map<string, { login: string; issuedAt: number; expiresAt: number; json: string }>();
  const lifetimeSeconds = Math.floor((options.tokenLifetimeMs ?? TOKEN_LIFETIME_MS) / 1000);
  const requests: RecordedRequest[] = [];
  let down: boolean | 'drop' = false;

  const roleOfLogin = (login: string): string => (login.startsWith('host/') ? `host:${login.slice(5)}` : `user:${login}`);
  /** Conjur's `role_memberships` table: grants from policy, and one ownership row per owned role. */
  type Membership = { role: string; member: string; admin_option: boolean; ownership: boolean; policy: string | null };
  function membershipRows(): Membership[] {
    const rows: Membership[] = [];
    for (const [kind, table] of [
      ['group', groups],
      ['layer', layers],
    ] as const) {
      for (const [id, members] of table)
        for (const m of members)
          rows.push({ role: `${kind}:${id}`, member: m, admin_option: false, ownership: false, policy: 'policy:root' });
    }
    for (const [role, owner] of owners) rows.push({ role, member: owner, admin_option: true, ownership: true, policy: null });
    return rows;
  }

  const roleExists = (role: string): boolean =>
    Object.keys(options.apiKeys).some((l) => roleOfLogin(l) === role) ||
    (role.startsWith('group:') && groups.has(role.slice(6))) ||
    (role.startsWith('layer:') && layers.has(role.slice(6))) ||
    owners.has(role) ||
    membershipRows().some((r) => r.member === role);

  /**
   * The role itself and every role it is a member of, transitively over every row (grants and
   * ownership alike): Conjur's `all_roles(role_id)`, a recursive query over `role_memberships`
   * (cyberark/conjur db/migrate/20160705141848_create_authz_functions.rb).
   */
  function memberships(role: string): string[] {
    const rows = membershipRows();
    const seen = new Set([role]);
    for (let grew = true; grew;) {
      grew = false;
      for (const r of rows) {
        if (seen.has(r.member) && !seen.has(r.role)) {
          seen.add(r.role);
          grew = true;
        }
      }
    }
    return [...seen].map((r) => `${account}:${r}`);
  }

  /**
   * Every role that holds one of `start`, through grants and ownership rows: a recursive walk down
   * `role_memberships` from the roles to their members, as Conjur's `roles_that_can` and
   * `is_resource_visible` expand the permitted roles and the owner of a resource (cyberark/conjur
   * db/migrate/20160705141848_create_authz_functions.rb, 20180422043957_resource_visibility.rb).
   * No role on the way is checked for visibility: Conjur's functions do not either.
   */
  function holders(start: Iterable<string>): Set<string> {
    const rows = membershipRows();
    const found = new Set(start);
    for (let grew = true; grew;) {
      grew = false;
      for (const r of rows) {
        if (found.has(r.role) && !found.has(r.member)) {
          found.add(r.member);
          grew = true;
        }
      }
    }
    return found;
  }

  const visibility =
    options.visibility &&
    new Map(Object.entries(options.visibility).map(([r, viewers]) => [checkRef(r as RoleRef), new Set((viewers ?? []).map(checkRef))]));
  const visibleTo = (caller: string, role: string): boolean => {
    if (!visibility || caller === role) return true;
    const viewers = visibility.get(role);
    return !!viewers && memberships(caller).some((r) => viewers.has(r.slice(account.length + 1)));
  };

  const mayExecute = (role: string, variable: string): boolean => {
    const v = variables.get(variable);
    return !!v && memberships(role).some((r) => v.readers.has(r.slice(account.length + 1)));
  };

  /**
   * A token as slosilo issues it: `{protected, payload, signature}`, each URL-safe base64, the payload
   * `{"iat":…,"sub":…,"exp":…}` in seconds (app/domain/token_factory.rb signed_token: exp = iat + ttl;
   * slosilo lib/slosilo/key.rb issue_jwt, lib/slosilo/jwt.rb). The signature here is random bytes.
   */
  function issueToken(login: string): string {
    const iat = Math.floor(now() / 1000);
    const exp = iat + lifetimeSeconds;
    const token = {
      protected: b64urlPadded(JSON.stringify({ alg: 'conjur.org/slosilo/v2', kid: 'development-stand-in' })),
      payload: b64urlPadded(JSON.stringify({ iat, sub: login, exp })),
      signature: b64urlPadded(randomBytes(256)),
    };
    const json = JSON.stringify(token);
    tokens.set(token.signature, { login, issuedAt: iat * 1000, expiresAt: exp * 1000, json });
    return json;
  }

  /** Who presented a valid, unexpired `Authorization: Token token="<base64>"`, or undefined. */
  function tokenHolder(header: string | undefined): { login: string; issuedAt: number } | undefined {
    const m = /^Token token="([A-Za-z0-9+/=]+)"$/.exec(header ?? '');
    if (!m?.[1]) return undefined;
    try {
      const json = Buffer.from(m[1], 'base64').toString('utf8');
      const issued = tokens.get((JSON.parse(json) as { signature?: string }).signature ?? '');
      if (!issued || JSON.stringify(JSON.parse(json)) !== issued.json) return undefined;
      // Valid from iat until exp, on the server's clock, as slosilo's jwt_valid? checks it.
      return now() >= issued.issuedAt && now() < issued.expiresAt ? issued : undefined;
    } catch {
      return undefined;
    }
  }

  type Answer = { status: number; body?: unknown; text?: string; login?: string; headers?: Record<string, string> };
  /** MissingSecretValue as render_secret_not_found sends it (app/controllers/application_controller.rb). */
  const missingSecret = (qualifiedId: string): Answer => ({
    status: 404,
    body: { error: { code: 'not_found', message: `CONJ00076E Variable ${qualifiedId} is empty or not found.` } },
  });
  const notFound = (kind: string, id: string): Answer => ({
    status: 404,
    body: {
      error: {
        code: 'not_found',
        message: `${kind[0]?.toUpperCase()}${kind.slice(1)} '${id}' not found or empty`,
        target: kind,
        details: { code: 'not_found', target: 'id', message: id },
      },
    },
  });

  function route(method: string, seg: string[], q: URLSearchParams, headers: http.IncomingHttpHeaders, body: string): Answer {
    if (method === 'POST' && seg[0] === 'authn' && seg.length === 4 && seg[3] === 'authenticate') {
      const [, acct, login = ''] = seg;
      const key = options.apiKeys[login];
      if (acct !== account || key === undefined || !sameSecret(key, body)) return { status: 401, text: 'Unauthorized' };
      const json = issueToken(login);
      const base64 = String(headers['accept-encoding'] ?? '').includes('base64');
      return { status: 200, text: base64 ? Buffer.from(json).toString('base64') : json };
    }
    const holder = tokenHolder(headers.authorization);
    if (holder === undefined) return { status: 401, text: 'Unauthorized' };
    const { login } = holder;
    const caller = roleOfLogin(login);
    const answer = (a: Answer): Answer => ({ ...a, login });

    if (method === 'GET' && seg.length === 1 && seg[0] === 'whoami') {
      return answer({
        status: 200,
        body: {
          client_ip: '127.0.0.1',
          user_agent: headers['user-agent'] ?? '',
          account,
          username: login,
          token_issued_at: new Date(holder.issuedAt).toISOString(),
        },
      });
    }
    if (method === 'GET' && seg.length === 1 && seg[0] === 'secrets') {
      const ids = (q.get('variable_ids') ?? '').split(',').filter(Boolean);
      if (ids.length === 0)
        return answer({ status: 422, body: { error: { code: 'unprocessable_entity', message: 'variable_ids is required' } } });
      // In the order of SecretsController#batch (cyberark/conjur app/controllers/secrets_controller.rb):
      // execute on every variable that exists (403, no body), then every id found (404 CONJ00076E),
      // then every value set (the same 404).
      const prefix = `${account}:variable:`;
      const local = ids.map((id) => (id.startsWith(prefix) ? id.slice(prefix.length) : ''));
      if (local.some((v) => variables.has(v) && !mayExecute(caller, v))) return answer({ status: 403, text: '' });
      const missing = ids.find((id, i) => !variables.has(local[i] ?? '') || variables.get(local[i] ?? '')?.value === undefined);
      if (missing !== undefined) return answer(missingSecret(missing));
      const values = ids.map((_, i) => Buffer.from(variables.get(local[i] ?? '')?.value ?? ''));
      // `Accept-Encoding` compared whole and case-insensitively with "base64" (casecmp?): then
      // `Content-Encoding: base64` and every value through Ruby's Base64.encode64 (60 characters a line).
      if (String(headers['accept-encoding'] ?? '').toLowerCase() === 'base64') {
        return answer({
          status: 200,
          headers: { 'Content-Encoding': 'base64' },
          body: Object.fromEntries(ids.map((id, i) => [id, rubyEncode64(values[i] as Buffer)])),
        });
      }
      // Otherwise rendering a value that is not UTF-8 as JSON fails: 406, BadSecretEncoding (errors.rb).
      if (values.some((v) => !isUtf8(v))) {
        return answer({
          status: 406,
          body: {
            error: {
              code: 'not_acceptable',
              message: "CONJ00074E Issue encoding secret into JSON format, try including 'Accept-Encoding: base64' header in request.",
            },
          },
        });
      }
      return answer({ status: 200, body: Object.fromEntries(ids.map((id, i) => [id, (values[i] as Buffer).toString('utf8')])) });
    }
    if (method === 'GET' && seg.length === 4 && seg[0] === 'roles' && seg[1] === account) {
      const role = `${seg[2]}:${seg[3]}`;
      if (!roleExists(role) || !visibleTo(caller, role)) return answer(notFound('role', `${account}:${role}`));
      if (q.has('all')) return answer({ status: 200, body: memberships(role) });
      if (q.has('members')) {
        // The role's rows of role_memberships, ownership rows included, as grant objects (an array,
        // whatever the OpenAPI description says): RoleMembership#as_json (app/models/role_membership.rb).
        const rows = membershipRows()
          .filter((r) => r.role === role)
          .sort((a, b) => a.member.localeCompare(b.member));
        const full = (r: string | null) => (r === null ? null : `${account}:${r}`);
        return answer({
          status: 200,
          body: rows.map((r) => ({
            role: full(r.role),
            member: full(r.member),
            admin_option: r.admin_option,
            ownership: r.ownership,
            policy: full(r.policy),
          })),
        });
      }
      const members = membershipRows().filter((r) => r.role === role);
      return answer({
        status: 200,
        body: { id: `${account}:${role}`, members: members.map((m) => ({ role: `${account}:${role}`, member: `${account}:${m.member}` })) },
      });
    }
    if (method === 'GET' && seg.length === 4 && seg[0] === 'resources' && seg[1] === account && seg[2] === 'webservice') {
      const id = seg[3] ?? '';
      const w = webservices.get(id);
      // FindResource#resource (app/controllers/concerns/find_resource.rb): absent or not visible is the same 404.
      if (!w || !holders([w.owner, ...[...w.permissions.values()].flat()]).has(caller))
        return answer(notFound('webservice', `${account}:webservice:${id}`));
      if (q.has('permitted_roles')) {
        // ResourcesController#permitted_roles: `privilege` (or `permission`) is required, then
        // Role.that_can(privilege, resource).map(&:id): roles_that_can, the permitted roles and the
        // owner, expanded down role_memberships.
        const privilege = q.get('privilege') ?? q.get('permission');
        if (!privilege) return answer({ status: 422, body: { error: { code: 'argument_error', message: 'privilege' } } });
        const roles = holders([w.owner, ...(w.permissions.get(privilege) ?? [])]);
        return answer({ status: 200, body: [...roles].map((r) => `${account}:${r}`).sort() });
      }
      const permissions = [...w.permissions].flatMap(([privilege, roles]) =>
        roles.map((r) => ({ privilege, role: `${account}:${r}`, policy: `${account}:policy:root` })),
      );
      return answer({
        status: 200,
        body: {
          id: `${account}:webservice:${id}`,
          owner: `${account}:${w.owner}`,
          policy: `${account}:policy:root`,
          permissions,
          annotations: [],
        },
      });
    }
    if (method === 'GET' && seg.length === 4 && seg[0] === 'resources' && seg[1] === account && seg[2] === 'variable') {
      const id = seg[3] ?? '';
      if (q.get('check') !== 'true')
        return answer(variables.has(id) ? { status: 200, body: { id: `${account}:variable:${id}` } } : notFound('variable', id));
      const roleParam = q.get('role');
      const role = roleParam ? roleParam.slice(roleParam.indexOf(':') + 1) : caller;
      const privilege = q.get('privilege');
      const ok =
        (privilege === 'execute' || privilege === 'read') && (!roleParam || roleParam.startsWith(`${account}:`)) && mayExecute(role, id);
      return answer({ status: ok ? 204 : 404 });
    }
    return answer({ status: 404, body: { error: { code: 'not_found', message: 'no such route in the stand-in' } } });
  }

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const record: RecordedRequest = { method: req.method ?? '', path: url.pathname, query: url.search.slice(1), status: 0 };
    requests.push(record);
    if (down === 'drop') return void req.socket.destroy();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let a: Answer;
      if (down) a = { status: 503, text: 'Service Unavailable' };
      else {
        let seg: string[] | undefined;
        try {
          seg = url.pathname.split('/').slice(1).map(decodeURIComponent);
        } catch {
          seg = undefined;
        }
        a = seg
          ? route(req.method ?? '', seg, url.searchParams, req.headers, Buffer.concat(chunks).toString('utf8'))
          : { status: 400, text: 'bad path' };
      }
      record.status = a.status;
      if (a.login !== undefined) record.login = a.login;
      const payload = a.body !== undefined ? JSON.stringify(a.body) : (a.text ?? '');
      res.writeHead(a.status, { 'Content-Type': a.body !== undefined ? 'application/json' : 'text/plain', ...a.headers });
      res.end(a.status === 204 ? undefined : payload);
    });
  };

  const server = options.tls ? https.createServer({ key: options.tls.key, cert: options.tls.cert }, handler) : http.createServer(handler);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `${options.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  options.log?.warn(
    { url, account },
    'DEVELOPMENT STAND-IN for Conjur listening: in-memory demo data, not a secret store; never point a production bot at it',
  );

  return {
    url,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }),
    setDown: (d) => void (down = d),
    addMember: (group, member) => {
      const set = groups.get(group) ?? new Set<string>();
      groups.set(group, set.add(checkRef(member)));
    },
    removeMember: (group, member) => void groups.get(group)?.delete(member),
    setVariable: (id, value, readers) => {
      variables.set(id, {
        value,
        readers: new Set((readers ?? [...(variables.get(id)?.readers ?? [])]).map((r) => checkRef(r as RoleRef))),
      });
    },
    revokeTokens: () => tokens.clear(),
    setWebservice: (id, w) => {
      if (w === undefined) webservices.delete(id);
      else webservices.set(id, webservice(w));
    },
    allRoles: (role) => memberships(checkRef(role)).sort(),
    unauthorizedCount: () => requests.filter((r) => r.status === 401).length,
  };

  function checkRef(ref: RoleRef): string {
    if (!/^(user|host|group|layer|policy):[^:\s]+$/.test(ref))
      throw new Error(`stand-in data: ${JSON.stringify(ref)} is not a role such as user:alice, host:release-bot or group:release/admins`);
    return ref;
  }
}

/** Ruby's Base64.encode64: standard alphabet, padded, a newline after every 60 characters and at the end. */
function rubyEncode64(bytes: Buffer): string {
  return bytes.toString('base64').replace(/.{1,60}/g, '$&\n');
}

function isUtf8(bytes: Buffer): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

/** Compares API keys in constant time, as a real server would. */
function sameSecret(expected: string, given: string): boolean {
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

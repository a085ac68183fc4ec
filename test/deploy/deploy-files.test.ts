import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Command } from 'commander';
import YAML, { isAlias, isMap, isScalar, isSeq, type Document, type Tags } from 'yaml';
import { registerServe } from '../../handlers/cli/commands/serve.js';
import { registerSshCommand } from '../../handlers/cli/commands/ssh-command.js';
import { envSchema, projectsFileSchema } from '../../src/config/schema.js';
import { roleOfLogin } from '../../src/conjur/ids.js';
import { ErrorCode, exitCodes } from '../../src/errors.js';
import { repoRoot } from '../support/cli.js';

const read = (rel: string): string => readFileSync(path.join(repoRoot, rel), 'utf8');

// ---------------------------------------------------------------------------------------------------
// deploy/systemd/release-bot.service

/** section -> key -> every assignment, in order (systemd keys may repeat; lists accumulate). */
type Unit = Map<string, Map<string, string[]>>;

/** The subset of systemd's unit syntax the unit uses: sections, Key=Value, comments, `\` continuations. */
function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  let pending = '';
  for (const raw of text.split('\n')) {
    const line = pending + raw.trim();
    pending = '';
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    if (line.endsWith('\\')) {
      pending = `${line.slice(0, -1)} `;
      continue;
    }
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header?.[1]) {
      section = unit.get(header[1]) ?? new Map();
      unit.set(header[1], section);
      continue;
    }
    const eq = line.indexOf('=');
    if (!section || eq <= 0) throw new Error(`not a unit file line: ${line}`);
    const key = line.slice(0, eq).trim();
    section.set(key, [...(section.get(key) ?? []), line.slice(eq + 1).trim()]);
  }
  return unit;
}

/** systemd time span ("11min", "660", "10min 30s") in seconds. */
function timespanSeconds(span: string): number {
  const units: Record<string, number> = { '': 1, s: 1, sec: 1, second: 1, seconds: 1, m: 60, min: 60, minute: 60, minutes: 60, h: 3600, hr: 3600, hour: 3600, hours: 3600, ms: 0.001, us: 0.000001 };
  let total = 0;
  for (const part of span.trim().split(/\s+/)) {
    const m = /^(\d+(?:\.\d+)?)([a-z]*)$/.exec(part);
    const unit = m ? units[m[2] ?? ''] : undefined;
    if (!m || unit === undefined) throw new Error(`not a systemd time span: ${span}`);
    total += Number(m[1]) * unit;
  }
  return total;
}

const unitText = read('deploy/systemd/release-bot.service');
const unit = parseUnit(unitText);
const service = unit.get('Service') ?? new Map<string, string[]>();
const assignments = (key: string): string[] => service.get(key) ?? [];
/** The one assignment of a [Service] key; a missing or repeated key fails the test that asks. */
function one(key: string): string {
  const all = assignments(key);
  if (all.length !== 1) throw new Error(`[Service] ${key}= is assigned ${all.length} times, expected once`);
  return all[0] as string;
}
/** A list setting as systemd builds it: assignments accumulate, an empty one resets. */
const list = (key: string): string[] => assignments(key).reduce<string[]>((acc, v) => (v === '' ? [] : [...acc, ...v.split(/\s+/)]), []);
const execStart = (): string[] => one('ExecStart').split(/\s+/);

/** `#   NAME=value` lines in the unit's comments: what the EnvironmentFile must set for this layout. */
const namedInUnit = [...unitText.matchAll(/^#\s+([A-Z][A-Z0-9_]*)=(\S+)\s*$/gm)].map((m) => ({ name: m[1] as string, value: m[2] as string }));
const envExampleNames = new Set([...read('.env.example').matchAll(/^([A-Z][A-Z0-9_]*)=/gm)].map((m) => m[1]));
const schemaNames = new Set(Object.keys(envSchema.shape));

const projects = projectsFileSchema.parse(YAML.parse(read('releases.example.yml')));
const underAny = (p: string, dirs: string[]) => dirs.some((d) => p === d || p.startsWith(`${d}/`));

describe('deploy/systemd/release-bot.service', () => {
  it('runs `release-bot serve` from the install directory, with node by absolute path', () => {
    const [node, script, ...args] = execStart();
    expect(node).toMatch(/^\/\S+\/node$/);
    expect(args).toEqual(['serve']);
    const program = new Command();
    registerServe(program);
    expect(program.commands.map((c) => c.name())).toContain(args[0]);
    const workdir = one('WorkingDirectory');
    expect(script).toBe(path.posix.join(workdir, 'bin/release-bot.js'));
    expect(read('package.json')).toContain('"release-bot": "bin/release-bot.js"');
    expect(one('Type')).toBe('exec');
  });

  it('reloads the projects file with SIGHUP (`systemctl reload`), which serve handles without stopping', () => {
    expect(one('ExecReload')).toBe('/bin/kill -HUP $MAINPID');
    const program = new Command();
    registerServe(program);
    expect(program.commands.find((c) => c.name() === 'serve')?.description()).toContain('on SIGHUP');
  });

  it('runs as the static user release-bot (not DynamicUser: the ssh forced command shares the data dir)', () => {
    expect(one('User')).toBe('release-bot');
    expect(one('Group')).toBe('release-bot');
    expect(assignments('DynamicUser').every((v) => v === 'no' || v === 'false')).toBe(true);
  });

  it.each([
    ['NoNewPrivileges', 'yes'],
    ['ProtectSystem', 'strict'],
    ['PrivateTmp', 'yes'],
    ['ProtectHome', 'yes'],
    ['PrivateDevices', 'yes'],
    ['PrivateMounts', 'yes'],
    ['ProtectKernelTunables', 'yes'],
    ['ProtectKernelModules', 'yes'],
    ['ProtectKernelLogs', 'yes'],
    ['ProtectControlGroups', 'yes'],
    ['ProtectClock', 'yes'],
    ['ProtectHostname', 'yes'],
    ['ProtectProc', 'invisible'],
    ['RestrictSUIDSGID', 'yes'],
    ['RestrictNamespaces', 'yes'],
    ['LockPersonality', 'yes'],
    ['RestrictRealtime', 'yes'],
    ['SystemCallArchitectures', 'native'],
    ['SystemCallFilter', '@system-service'],
    ['UMask', '0077'],
    ['LimitCORE', '0'],
    ['CapabilityBoundingSet', ''],
    ['AmbientCapabilities', ''],
  ])('hardening: %s=%s, set exactly once', (key, value) => {
    expect(one(key)).toBe(value);
  });

  it('allows only local and IP sockets', () => {
    expect(list('RestrictAddressFamilies').sort()).toEqual(['AF_INET', 'AF_INET6', 'AF_UNIX']);
  });

  it('does not set MemoryDenyWriteExecute (V8 needs W+X memory)', () => {
    expect(assignments('MemoryDenyWriteExecute').filter((v) => !['no', 'false', '0'].includes(v))).toEqual([]);
  });

  it('writes only to the data directory and the projects file\'s staging directory', () => {
    const dataDir = namedInUnit.find((v) => v.name === 'RELEASE_BOT_DATA_DIR')?.value;
    expect(dataDir).toBe('/var/lib/release-bot/data');
    expect(list('ReadWritePaths').sort()).toEqual([dataDir, projects.staging_dir].sort());
    for (const key of ['ReadWritePaths', 'StateDirectory', 'LogsDirectory', 'CacheDirectory', 'RuntimeDirectory', 'ConfigurationDirectory', 'BindPaths']) {
      expect([key, assignments(key).length]).toEqual([key, key === 'ReadWritePaths' ? 1 : 0]);
    }
  });

  it('stops with SIGTERM to node only and waits longer than serve drains in-flight releases', () => {
    expect(one('KillSignal')).toBe('SIGTERM');
    // mixed: the publishers node runs are not sent the same SIGTERM mid-push.
    expect(one('KillMode')).toBe('mixed');
    const drain = /async drain\(timeoutMs = ([\d_ *]+)\)/.exec(read('src/release/drain.ts'))?.[1];
    expect(drain).toBeDefined();
    const drainSeconds = (drain as string).split('*').reduce((p, f) => p * Number(f.trim().replace(/_/g, '')), 1) / 1000;
    expect(timespanSeconds(one('TimeoutStopSec'))).toBeGreaterThanOrEqual(drainSeconds + 30);
  });

  it('does not restart on an invalid configuration', () => {
    expect(one('RestartPreventExitStatus').split(/\s+/)).toContain(String(exitCodes[ErrorCode.ConfigInvalid]));
    expect(one('Restart')).toBe('on-failure');
  });

  it('reads the bot\'s settings from one EnvironmentFile, and names only variables the bot reads', () => {
    const file = one('EnvironmentFile');
    expect(file).toBe('/etc/release-bot/env'); // no "-": a missing file must stop the start
    const named = namedInUnit.map((v) => v.name);
    expect(named).toEqual(expect.arrayContaining(['RELEASE_BOT_DATA_DIR', 'RELEASE_BOT_CONFIG']));
    for (const { name, value } of namedInUnit) {
      expect([name, schemaNames.has(name), envExampleNames.has(name)]).toEqual([name, true, true]);
      expect(value).toMatch(/^\//);
    }
    // The projects file must not be writable by the bot it configures.
    const config = namedInUnit.find((v) => v.name === 'RELEASE_BOT_CONFIG')?.value as string;
    expect(underAny(config, list('ReadWritePaths'))).toBe(false);
    // The forced command reads only the file: nothing the bot reads may be set with Environment=.
    const inline = assignments('Environment').flatMap((v) => v.split(/\s+/)).map((kv) => kv.split('=')[0] as string);
    expect(inline.filter((n) => schemaNames.has(n))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// deploy/systemd/sysusers.d and tmpfiles.d

const columns = (rel: string): string[][] =>
  read(rel)
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => [...l.matchAll(/"[^"]*"|\S+/g)].map((m) => m[0]));

describe('deploy/systemd sysusers.d and tmpfiles.d', () => {
  it('creates the unit\'s user with a real shell (sshd runs forced commands through it) and its home at the state directory', () => {
    const user = columns('deploy/systemd/sysusers.d/release-bot.conf').find((c) => c[0] === 'u' && c[1] === one('User'));
    expect(user).toBeDefined();
    const [, , , , home, shell] = user as string[];
    expect(home).toBe('/var/lib/release-bot');
    expect(shell).toMatch(/^\/(usr\/)?bin\/(sh|bash|dash)$/);
  });

  it('creates the writable directories for the bot, and keeps its home, code and configuration out of its reach', () => {
    const entries = new Map(columns('deploy/systemd/tmpfiles.d/release-bot.conf').map(([type, p, mode, user, group]) => [p as string, { type, mode: parseInt(mode as string, 8), user, group }]));
    const bot = one('User');
    const data = entries.get('/var/lib/release-bot/data');
    expect(data).toEqual({ type: 'd', mode: 0o700, user: bot, group: bot });
    const staging = entries.get(projects.staging_dir);
    expect(staging?.type).toBe('d');
    expect(staging?.group).toBe(bot);
    expect((staging?.mode ?? 0) & 0o040).toBe(0o040); // the bot reads it through its group
    expect((staging?.mode ?? 0o7) & 0o007).toBe(0); // nobody else does
    for (const p of list('ReadWritePaths')) expect([p, entries.get(p)?.type]).toEqual([p, 'd']);
    // Root's, and not writable by group or others: the home (authorized_keys, sshd's StrictModes) and /etc/release-bot.
    for (const p of ['/var/lib/release-bot', '/etc/release-bot']) {
      const e = entries.get(p);
      expect([p, e?.type, e?.user, (e?.mode ?? 0o777) & 0o022]).toEqual([p, 'd', 'root', 0]);
    }
    for (const p of [one('EnvironmentFile'), namedInUnit.find((v) => v.name === 'RELEASE_BOT_CONFIG')?.value as string]) {
      expect([p, entries.get(p)]).toEqual([p, { type: 'z', mode: 0o640, user: 'root', group: bot }]);
    }
    // "D" and "R" delete contents at boot: never for the database or the staged builds.
    expect([...entries.values()].filter((e) => e.type === 'D' || e.type === 'R' || e.type === 'r')).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// deploy/conjur/policy.yml

/** A Conjur policy node: `!tag value` with value a string (`!group x`), a mapping or a sequence. */
interface Tagged {
  tag: string;
  value: unknown;
}
const CONJUR_TAGS = ['policy', 'host', 'group', 'user', 'layer', 'variable', 'webservice', 'host-factory', 'permit', 'deny', 'grant', 'revoke', 'member', 'delete'];
/** Known Conjur tags resolve quietly (an unknown or misspelt one is a warning, which fails the test). */
const customTags: Tags = CONJUR_TAGS.flatMap((name) => [
  { tag: `!${name}`, resolve: (s: string) => s },
  { tag: `!${name}`, collection: 'map' as const, resolve: (m: unknown) => m },
  { tag: `!${name}`, collection: 'seq' as const, resolve: (m: unknown) => m },
]);

/** The document as plain values, custom-tagged nodes as {tag, value}, aliases followed. */
function toTagged(node: unknown, doc: Document): unknown {
  if (isAlias(node)) return toTagged(node.resolve(doc), doc);
  const tag = (n: { tag?: string }) => (n.tag?.startsWith('!') && !n.tag.startsWith('!!') ? n.tag.slice(1) : undefined);
  const wrap = (n: { tag?: string }, value: unknown): unknown => {
    const t = tag(n);
    return t ? ({ tag: t, value } satisfies Tagged) : value;
  };
  if (isScalar(node)) return wrap(node, node.value);
  if (isSeq(node)) return wrap(node, node.items.map((i) => toTagged(i, doc)));
  if (isMap(node)) {
    const obj: Record<string, unknown> = {};
    for (const pair of node.items) obj[String(isScalar(pair.key) ? pair.key.value : pair.key)] = toTagged(pair.value, doc);
    return wrap(node, obj);
  }
  return node;
}

const isTagged = (v: unknown): v is Tagged => typeof v === 'object' && v !== null && 'tag' in v && 'value' in v;
const flat = (v: unknown): unknown[] => (Array.isArray(v) ? v.flatMap(flat) : v === undefined || v === null ? [] : [v]);

interface Ref {
  kind: string;
  id: string;
}
const key = (r: Ref) => `${r.kind}:${r.id}`;

/** Conjur's id resolution: relative to the enclosing policy unless it starts with "/"; users get "@<policy path with ->". */
function resolveId(kind: string, id: string, ns: string | undefined): string {
  if (id.includes('..')) throw new Error(`relative references are not used here: ${id}`);
  const full = id.startsWith('/') ? id.slice(1) : ns ? `${ns}/${id}` : id;
  if (kind !== 'user') return full;
  const parts = full.split('/');
  const name = parts.pop() as string;
  return parts.length > 0 ? `${name}@${parts.join('-')}` : name;
}

interface Policy {
  records: Array<Ref & { owner?: Ref }>;
  /** Record key (`host:release-bot`) -> its annotations as written. */
  annotations: Map<string, Record<string, unknown>>;
  permits: Array<{ roles: Ref[]; privileges: string[]; resources: Ref[] }>;
  grants: Array<{ roles: Ref[]; members: Ref[] }>;
  /** Record key -> the id of the policy declaring it ('' at root). */
  policyOf: Map<string, string>;
}

function loadPolicy(text: string): { policy: Policy; doc: Document } {
  const doc = YAML.parseDocument(text, { customTags });
  const policy: Policy = { records: [], permits: [], grants: [], annotations: new Map(), policyOf: new Map() };
  const refs = (v: unknown, ns: string | undefined): Ref[] =>
    flat(v).map((r) => {
      if (!isTagged(r)) throw new Error(`not a Conjur reference: ${JSON.stringify(r)}`);
      if (r.tag === 'member') return refs((r.value as { role?: unknown }).role, ns)[0] as Ref;
      const id = typeof r.value === 'string' ? r.value : String((r.value as { id?: unknown }).id);
      return { kind: r.tag, id: resolveId(r.tag, id, ns) };
    });
  const walk = (items: unknown, ns: string | undefined): void => {
    for (const item of flat(items)) {
      if (!isTagged(item)) throw new Error(`a policy holds only tagged records: ${JSON.stringify(item)}`);
      const v = (typeof item.value === 'object' && item.value !== null ? item.value : {}) as Record<string, unknown>;
      if (item.tag === 'permit' || item.tag === 'deny') {
        if (item.tag === 'permit') policy.permits.push({ roles: refs(v.role, ns), privileges: flat(v.privileges ?? v.privilege).map(String), resources: refs(v.resources ?? v.resource, ns) });
        continue;
      }
      if (item.tag === 'grant') {
        policy.grants.push({ roles: refs(v.role, ns), members: refs(v.members ?? v.member, ns) });
        continue;
      }
      const id = typeof item.value === 'string' ? item.value : String(v.id);
      const full = resolveId(item.tag, id, ns);
      policy.records.push({ kind: item.tag, id: full, ...(v.owner ? { owner: refs(v.owner, ns)[0] as Ref } : {}) });
      policy.policyOf.set(`${item.tag}:${full}`, ns ?? '');
      if (v.annotations && typeof v.annotations === 'object') policy.annotations.set(`${item.tag}:${full}`, v.annotations as Record<string, unknown>);
      if (item.tag === 'policy') walk(v.body, full);
    }
  };
  walk(toTagged(doc.contents, doc), undefined);
  return { policy, doc };
}

const botLogin = /^CONJUR_AUTHN_LOGIN=(.+)$/m.exec(read('.env.example'))?.[1] ?? '';
const credentialIds = [...new Set(Object.values(projects.projects).flatMap((p) => p.destinations.flatMap((d) => Object.values(d.credentials))))].sort();
const releaseGroups = [...new Set(Object.values(projects.projects).flatMap((p) => [p.authorized_group, ...(p.approver_group ? [p.approver_group] : [])]))].sort();

describe('deploy/conjur/policy.yml', () => {
  const { policy, doc } = loadPolicy(read('deploy/conjur/policy.yml'));
  const bot: Ref = roleOfLogin(botLogin);
  const botPermits = policy.permits.filter((p) => p.roles.some((r) => key(r) === key(bot)));
  /** resource -> the privileges the bot holds on it, over every permit. */
  const botPrivileges = new Map<string, Set<string>>();
  for (const p of botPermits) for (const r of p.resources) botPrivileges.set(key(r), new Set([...(botPrivileges.get(key(r)) ?? []), ...p.privileges]));
  const declared = (kind: string) => policy.records.filter((r) => r.kind === kind).map((r) => r.id).sort();
  const permittedOn = (kind: string) => [...botPrivileges.keys()].filter((k) => k.startsWith(`${kind}:`)).map((k) => k.slice(kind.length + 1)).sort();

  it('is valid YAML with only Conjur\'s tags', () => {
    expect(doc.errors.map((e) => e.message)).toEqual([]);
    expect(doc.warnings.map((e) => e.message)).toEqual([]);
  });

  it('declares the bot\'s host at root, so its login is .env.example\'s CONJUR_AUTHN_LOGIN', () => {
    expect(bot).toEqual({ kind: 'host', id: 'release-bot' });
    expect(policy.records).toContainEqual({ kind: 'host', id: 'release-bot' });
  });

  // Conjur's policy loader (app/models/loader/types.rb, Host#verify) refuses a host whose
  // `authn/api-key` annotation is absent or "false" where CONJUR_AUTHN_API_KEY_DEFAULT is false; it
  // compares the value's string form with "true"/"false" case-insensitively.
  it('annotates the bot\'s host with authn/api-key: true, so the policy loads where API-key login for hosts is off by default', () => {
    const annotations = policy.annotations.get(key(bot)) ?? {};
    expect(String(annotations['authn/api-key']).toLowerCase()).toBe('true');
    for (const [record, a] of policy.annotations) {
      if (record.startsWith('host:')) expect([record, String(a['authn/api-key']).toLowerCase()]).toEqual([record, 'true']);
    }
  });

  it('gives the bot only read and execute, never update or create', () => {
    expect(botPermits.length).toBeGreaterThan(0);
    const all = new Set(botPermits.flatMap((p) => p.privileges));
    expect(all.has('update')).toBe(false);
    expect(all.has('create')).toBe(false);
    expect([...all].sort()).toEqual(['execute', 'read']);
  });

  it('permits read and execute on variables, read (only) on the membership sentinels and the users or hosts it checks, nothing else', () => {
    for (const [resource, privileges] of botPrivileges) {
      const kind = resource.slice(0, resource.indexOf(':'));
      const expected = kind === 'variable' ? ['execute', 'read'] : ['webservice', 'user', 'host'].includes(kind) ? ['read'] : ['(no privilege on a ' + kind + ')'];
      expect([resource, [...privileges].sort()]).toEqual([resource, expected]);
    }
  });

  it('declares and permits exactly the credential ids of releases.example.yml', () => {
    expect(credentialIds.length).toBeGreaterThan(0);
    expect(declared('variable')).toEqual(credentialIds);
    expect(permittedOn('variable')).toEqual(credentialIds);
  });

  // The bot asks GET /resources/<account>/webservice/<group>?permitted_roles=true&privilege=release
  // (src/conjur/client.ts#isMember): Conjur's roles_that_can, the roles holding `release` plus the
  // webservice's owner, closed downwards (cyberark/conjur db/migrate/20160705141848_create_authz_functions.rb).
  // That is the group's members only if the group alone holds `release` and the sentinel has the
  // group's owner (declared in the same policy, no owner of its own).
  it('declares every release group of releases.example.yml with its membership sentinel: same id, same policy, release for the group alone, read for the bot', () => {
    expect(releaseGroups.length).toBeGreaterThan(0);
    for (const g of releaseGroups) {
      const sentinel = policy.records.find((r) => r.kind === 'webservice' && r.id === g);
      const holders = policy.permits.filter((p) => p.privileges.includes('release') && p.resources.some((r) => key(r) === `webservice:${g}`)).flatMap((p) => p.roles.map(key));
      expect({
        g,
        group: declared('group').includes(g),
        sentinel: Boolean(sentinel) && !sentinel?.owner && policy.policyOf.get(`webservice:${g}`) === policy.policyOf.get(`group:${g}`),
        holders,
        bot: [...(botPrivileges.get(`webservice:${g}`) ?? [])],
      }).toEqual({ g, group: true, sentinel: true, holders: [`group:${g}`], bot: ['read'] });
    }
    expect(permittedOn('webservice')).toEqual(declared('webservice'));
    // The bot needs nothing on the groups themselves.
    expect(permittedOn('group')).toEqual([]);
  });

  it('makes the bot a member of nothing and the owner of nothing', () => {
    expect(policy.grants.filter((g) => g.members.some((m) => key(m) === key(bot)))).toEqual([]);
    expect(policy.records.filter((r) => r.owner && key(r.owner) === key(bot))).toEqual([]);
  });
});

// ---------------------------------------------------------------------------------------------------
// deploy/ssh/authorized_keys.example

/** One authorized_keys line: options (name -> value, or true), key type, base64 key, comment. */
function parseKeyLine(line: string): { options: Array<[string, string | true]>; type: string; key: string; comment: string } {
  let i = 0;
  let options = '';
  let quoted = false;
  for (; i < line.length; i++) {
    const ch = line[i] as string;
    if (ch === '\\' && quoted) {
      options += ch + (line[++i] ?? '');
      continue;
    }
    if (ch === '"') quoted = !quoted;
    if (ch === ' ' && !quoted) break;
    options += ch;
  }
  if (quoted) throw new Error(`unterminated quote in: ${line}`);
  const [type = '', key = '', ...comment] = line.slice(i + 1).split(' ');
  const parsed = [...options.matchAll(/([A-Za-z0-9-]+)(?:="((?:[^"\\]|\\.)*)")?(?:,|$)/g)].map((m): [string, string | true] => [m[1] as string, m[2] ?? true]);
  const rebuilt = parsed.map(([n, v]) => (v === true ? n : `${n}="${v}"`)).join(',');
  if (rebuilt !== options) throw new Error(`options not understood: ${options}`);
  return { options: parsed, type, key, comment: comment.join(' ') };
}

describe('deploy/ssh/authorized_keys.example', () => {
  const lines = read('deploy/ssh/authorized_keys.example')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'));
  const sshCommand = (() => {
    const program = new Command();
    registerSshCommand(program);
    return program.commands.find((c) => c.name() === 'ssh-command') as Command;
  })();

  it('has example lines', () => {
    expect(lines.length).toBeGreaterThan(0);
  });

  it.each(lines.map((l, i): [number, string] => [i + 1, l]))('line %i: restrict, and nothing turned back on', (_, line) => {
    const { options } = parseKeyLine(line);
    expect(options[0]).toEqual(['restrict', true]);
    for (const [name] of options) expect(['restrict', 'command', 'from', 'expiry-time']).toContain(name);
    expect(options.filter(([n]) => n === 'command')).toHaveLength(1);
  });

  it.each(lines.map((l, i): [number, string] => [i + 1, l]))('line %i: command= runs the unit\'s node and script with `ssh-command --as <login> --environment-file <the unit\'s EnvironmentFile>`', (_, line) => {
    const { options, type, key } = parseKeyLine(line);
    const command = options.find(([n]) => n === 'command')?.[1] as string;
    // sshd hands it to `sh -c`: plain words only, nothing a shell would interpret.
    expect(command).toMatch(/^[A-Za-z0-9@._/=-]+( [A-Za-z0-9@._/=-]+)*$/);
    const [node, script, sub, ...args] = command.split(' ');
    const [unitNode, unitScript] = execStart();
    expect([node, script, sub]).toEqual([unitNode, unitScript, sshCommand.name()]);
    const values = new Map<string, string>();
    for (let i = 0; i < args.length; i += 2) {
      const flag = args[i] as string;
      const known = sshCommand.options.find((o) => o.long === flag);
      expect([flag, known !== undefined]).toEqual([flag, true]);
      expect([flag, values.has(flag)]).toEqual([flag, false]);
      values.set(flag, args[i + 1] ?? '');
    }
    for (const o of sshCommand.options.filter((o) => o.mandatory)) expect([o.long, values.has(o.long as string)]).toEqual([o.long, true]);
    expect(values.has('--as')).toBe(true);
    expect(() => roleOfLogin(values.get('--as') as string)).not.toThrow();
    expect(values.get('--environment-file')).toBe(one('EnvironmentFile'));
    // A real public key blob: base64 of a length-prefixed copy of its own type.
    const blob = Buffer.from(key, 'base64');
    expect(blob.subarray(4, 4 + blob.readUInt32BE(0)).toString()).toBe(type);
  });
});

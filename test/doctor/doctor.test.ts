import { existsSync, mkdirSync, symlinkSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { API_KEY, startBotEnv, type BotEnv, mirrorProject } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';
import { membershipSentinels } from '../../dev/conjur-stand-in.js';
import { runCli } from '../support/cli.js';
import { listenSyslog } from '../audit/syslog-listener.js';
import { freePort } from '../support/ports.js';

const MIRROR = 'doctor-mirror-canary-1e5b3f9a7c';
const NPM = 'doctor-npm-canary-3f9a7c1e5b';
const SIGNING = 'doctor-signing-canary-9a7c1e5b3f';
const USER = 'doctor-user-canary-5b3f9a7c1e';

describe('release-bot doctor', () => {
  let bot: BotEnv;
  /** The npm destination's registry on loopback: `GET /-/ping` answers `{}` as Verdaccio's ping route does (verdaccio packages/api/src/ping.ts). */
  let registry: http.Server;
  /** A PATH holding only the given programs (links to the real ones). */
  const pathWith = (...tools: string[]) => {
    const dir = path.join(bot.dir, `bin-${tools.join('-') || 'none'}`);
    mkdirSync(dir, { recursive: true });
    for (const t of tools) if (!existsSync(path.join(dir, t))) symlinkSync(`/usr/bin/${t}`, path.join(dir, t));
    return dir;
  };

  beforeAll(async () => {
    registry = http.createServer(
      (req, res) =>
        void (req.url === '/-/ping' ? res.writeHead(200, { 'content-type': 'application/json' }).end('{}') : res.writeHead(404).end()),
    );
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    const registryUrl = `http://127.0.0.1:${(registry.address() as AddressInfo).port}/`;
    bot = await startBotEnv(
      (dir) => ({
        ...mirrorProject(dir, {
          MIRROR_TOKEN: 'release/mirror/token',
          MIRROR_SIGNING_KEY: 'release/mirror/signing-key',
          MIRROR_USER: 'release/mirror/user',
        }),
        'conjur-js': project(
          'conjur-js',
          [{ name: 'npmjs', type: 'npm', registry: registryUrl, credentials: { NPM_TOKEN: 'release/npm/token' } }],
          {
            authorized_group: 'release/conjur-cli',
          },
        ),
      }),
      {
        variables: {
          'release/mirror/token': { value: MIRROR, readers: ['host:release-bot'] },
          // Declared, but the bot was never permitted to read it.
          'release/npm/token': { value: NPM, readers: ['user:alice'] },
          // Declared and permitted, but never given a value: a permission check passes it, a release fails on it.
          'release/mirror/signing-key': { readers: ['host:release-bot'] },
          // release/mirror/user is not declared at all.
        },
      },
    );
  });

  afterAll(async () => {
    await bot.close();
    registry.closeAllConnections();
    await new Promise((resolve) => registry.close(resolve));
  });

  it('prints a checklist and exits non-zero naming each problem: a variable without value, forbidden or undeclared, a missing tool', async () => {
    const reads = bot.conjur.requests.length;
    const r = await runCli(['doctor'], { ...bot.env, LOG_LEVEL: 'debug', PATH: pathWith('ssh') });
    expect(r.stdout.split('\n')[0]).toBe('release-bot doctor');
    expect(r.stdout).toMatch(/^ {2}ok {4}configuration: 2 project\(s\) in /m);
    expect(r.stdout).toMatch(/^ {2}ok {4}database: .* \(schema \d+\), 0 audit entries, audit chain intact$/m);
    expect(r.stdout).toMatch(/^ {2}ok {4}staging directory: /m);
    expect(r.stdout).toContain(`  ok    Conjur identity: ${bot.conjur.url} answers; logged in as host/release-bot (account acme)`);
    expect(r.stdout).toContain('  ok    Conjur variable release/mirror/token: readable, has a value');
    expect(r.stdout).toContain(
      '  FAIL  Conjur variable release/mirror/signing-key: declared and host/release-bot may read it, but it has no value: set one (conjur variable set -i release/mirror/signing-key -v ...)',
    );
    expect(r.stdout).toContain(
      '  FAIL  Conjur variable release/mirror/user: not declared (or not visible to host/release-bot): declare it in policy',
    );
    expect(r.stdout).toContain(
      '  FAIL  Conjur variable release/npm/token: declared, but host/release-bot may not read it: permit execute on it',
    );
    expect(r.stdout).toContain('  FAIL  tool npm (npm destinations): not found on PATH: apt-get install npm');
    expect(r.stdout).toContain('4 problem(s): fix them and run release-bot doctor again');
    expect(r.code).toBe(1);
    // A real read (the batch GET /secrets a release makes), not only a permission check.
    const secrets = bot.conjur.requests.slice(reads).filter((q) => q.path === '/secrets');
    expect(secrets[0]?.query).toContain(encodeURIComponent('acme:variable:release/mirror/signing-key'));
    expect(secrets.some((q) => q.status === 200)).toBe(true);
    for (const canary of [MIRROR, NPM, API_KEY]) expect(r.stdout + r.stderr).not.toContain(canary);
  });

  it('passes once every variable has a value the bot may read and the tool is installed, and shows no value', async () => {
    bot.conjur.setVariable('release/npm/token', NPM, ['host:release-bot']);
    bot.conjur.setVariable('release/mirror/signing-key', SIGNING);
    bot.conjur.setVariable('release/mirror/user', USER, ['host:release-bot']);
    const reads = bot.conjur.requests.length;
    const r = await runCli(['doctor', '--json'], { ...bot.env, LOG_LEVEL: 'debug', PATH: pathWith('npm') });
    const checks = JSON.parse(r.stdout) as { ok: boolean; name: string; detail: string }[];
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.filter((c) => c.name.startsWith('Conjur variable ')).map((c) => c.detail)).toEqual(
      Array(4).fill('readable, has a value'),
    );
    expect(checks.find((c) => c.name === 'tool npm (npm destinations)')?.detail).toMatch(/\/npm$/);
    expect(r.code).toBe(0);
    // All four in one batch read, as a release fetches them.
    expect(
      bot.conjur.requests
        .slice(reads)
        .filter((q) => q.path === '/secrets')
        .map((q) => q.status),
    ).toEqual([200]);
    for (const canary of [MIRROR, NPM, SIGNING, USER, API_KEY]) expect(r.stdout + r.stderr).not.toContain(canary);
  });

  it('fails when Conjur does not answer, and does not pretend to have checked the variables', async () => {
    bot.conjur.setDown(true);
    try {
      const r = await runCli(['doctor'], { ...bot.env, PATH: pathWith('npm') });
      expect(r.code).toBe(1);
      expect(r.stdout).toMatch(/FAIL {2}Conjur identity: cannot log in to http:\/\/127\.0\.0\.1:\d+: .*\[CONJUR_UNAVAILABLE\]/);
      expect(r.stdout).toContain('  FAIL  Conjur variable release/mirror/token: not checked: Conjur did not answer');
    } finally {
      bot.conjur.setDown(false);
    }
  });

  it('names a group whose membership sentinel is missing, the projects using it and the policy to add', async () => {
    const ok = await runCli(['doctor'], { ...bot.env, PATH: pathWith('npm') });
    expect(ok.stdout).toContain('  ok    Conjur membership sentinel release/conjur-cli: in place (project conjur-cli, project conjur-js)');
    bot.conjur.setWebservice('release/conjur-cli', undefined);
    try {
      const r = await runCli(['doctor'], { ...bot.env, PATH: pathWith('npm') });
      expect(r.code).toBe(1);
      expect(r.stdout).toContain(
        '  FAIL  Conjur membership sentinel release/conjur-cli: no membership sentinel !webservice release/conjur-cli visible to host/release-bot (project conjur-cli, project conjur-js): Declare !webservice release/conjur-cli in the policy that declares the group (so it has the same owner), permit the group release and host/release-bot read on it (deploy/conjur/policy.yml)',
      );
    } finally {
      bot.conjur.setWebservice('release/conjur-cli', membershipSentinels(['release/conjur-cli'])['release/conjur-cli']);
    }
  });

  it('checks the audit syslog receiver', async () => {
    const down = await freePort();
    const r = await runCli(['doctor'], { ...bot.env, PATH: pathWith('npm'), AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${down}` });
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`  FAIL  audit syslog tcp://127.0.0.1:${down}: unreachable (ECONNREFUSED)`);
    const listener = await listenSyslog('tcp');
    try {
      const up = await runCli(['doctor'], { ...bot.env, PATH: pathWith('npm'), AUDIT_SYSLOG_URL: `tcp://127.0.0.1:${listener.port}` });
      expect(up.stdout).toContain(`  ok    audit syslog tcp://127.0.0.1:${listener.port}: accepts connections`);
      expect(up.code).toBe(0);
    } finally {
      await listener.close();
    }
  });

  it('lists every configuration problem and exits 78', async () => {
    const r = await runCli(['doctor'], { ...bot.env, CONJUR_ACCOUNT: '', RELEASE_BOT_CONFIG: path.join(bot.dir, 'missing.yml') });
    expect(r.code).toBe(78);
    expect(r.stdout).toMatch(/FAIL {2}configuration: CONJUR_ACCOUNT: is not set/);
    expect(r.stdout).toMatch(/FAIL {2}configuration: RELEASE_BOT_CONFIG: .*missing\.yml does not exist/);
  });
});

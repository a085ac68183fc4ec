import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { destinationTypes } from '../../publishers/registry.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * The handler settings (Slack, the Jenkins webhook) are part of the one configuration: check-config,
 * doctor, serve and every other command list their problems with the others', all at once, before
 * anything is written or listens. Before, serve found them only when it mounted the handlers, one per
 * start, after creating the database, and check-config said OK.
 */

const yaml = (dir: string) => `channel: C0RELEASES
staging_dir: ./staging
identity: { strategy: map, map: {} }
projects:
  conjur-cli:
    authorized_group: release/conjur-cli
    jenkins_job: conjur-cli
    artifact: files
    destinations:
      - { name: mirror, type: directory, path: "${dir}/published/{project}/{version}" }
`;

/** Secrets of the broken configuration: no message may carry them, nor need redacting them. */
const WEBHOOK_CANARY = 'whcanary7';
const APP_TOKEN_CANARY = 'xapp-1-A0CANARY-4567-apptokencanary';
/** A key pair as `openssl genpkey -algorithm RSA` makes; the private half pasted where the public one goes. */
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const privatePem = rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const privateBody = (privatePem.split('\n')[1] ?? '').slice(0, 40);

/**
 * Jenkins' OIDC provider plugin names its issuer `<Jenkins root URL>oidc` (Issuer.java, url()), its key
 * set at `<issuer>/jwks` (Keys.java): a Jenkins whose root URL is plain http:// mints this issuer.
 */
const HTTP_ISSUER = 'http://jenkins.example.com/oidc';

const expected = [
  /^JENKINS_JWKS_URL: is not a URL: e\.g\. JENKINS_JWKS_URL=https:\/\//,
  /^SLACK_SIGNING_SECRET: is not a Slack signing secret \(6 characters\)/,
  /^SLACK_BOT_TOKEN: is not set, and Slack is on \(SLACK_APP_TOKEN, SLACK_SIGNING_SECRET\): .* e\.g\. SLACK_BOT_TOKEN=xoxb-/,
  /^JENKINS_WEBHOOK_SECRET: is 9 characters long: use at least 32 random characters, e\.g\. JENKINS_WEBHOOK_SECRET=\$\(openssl rand -hex 32\)$/,
  /^JENKINS_JWT_PUBLIC_KEY: is a private key: give the bot only the public key .*e\.g\. JENKINS_JWT_PUBLIC_KEY=\/etc\/release-bot\/jenkins\.pem$/,
  /^JENKINS_JWT_ISSUER: is plain http:\/\/ .* e\.g\. JENKINS_JWT_ISSUER=https:\/\/jenkins\.example\.com\/oidc$/,
];

describe('handler settings are checked with the rest of the configuration', () => {
  const tmp = makeTmpDir();
  const file = path.join(tmp.dir, 'releases.yml');
  const goodEnv = {
    CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
    CONJUR_ACCOUNT: 'acme',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
    RELEASE_BOT_CONFIG: file,
  };
  /** Nothing wrong but the handler settings. */
  const brokenEnv = {
    ...goodEnv,
    SLACK_SIGNING_SECRET: 'abc123',
    SLACK_APP_TOKEN: APP_TOKEN_CANARY,
    JENKINS_WEBHOOK_SECRET: WEBHOOK_CANARY,
    JENKINS_JWT_PUBLIC_KEY: privatePem,
    JENKINS_JWT_ISSUER: HTTP_ISSUER,
    JENKINS_JWKS_URL: 'jenkins.example.com/oidc/jwks',
  };

  beforeAll(() => {
    mkdirSync(path.join(tmp.dir, 'staging'));
    writeFileSync(file, yaml(tmp.dir));
  });
  afterAll(() => tmp.cleanup());

  const problems = (env: Record<string, string | undefined>): string[] => {
    try {
      loadConfig({ ...goodEnv, RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'), ...env }, { destinationTypes, cwd: tmp.dir });
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    return [];
  };
  /** The problems a command printed: its `  - ` lines (check-config, serve, status) or doctor's FAIL lines. */
  const listed = (text: string) =>
    text
      .split('\n')
      .filter((l) => l.startsWith('  - ') || l.startsWith('  FAIL  configuration: '))
      .map((l) => l.replace(/^ {2}(- |FAIL {2}configuration: )/, ''));
  const noSecret = (text: string) => {
    expect(text).not.toContain(WEBHOOK_CANARY);
    expect(text).not.toContain(APP_TOKEN_CANARY);
    expect(text).not.toContain(privateBody);
    expect(text).not.toContain('[REDACTED]');
  };

  it.each([
    ['Slack on through Socket Mode without the bot token', { SLACK_APP_TOKEN: 'xapp-1-A0123-4567-abcd' }, /^SLACK_BOT_TOKEN: is not set/],
    ['a short webhook secret', { JENKINS_WEBHOOK_SECRET: 'short' }, /^JENKINS_WEBHOOK_SECRET: is 5 characters long: use at least 32/],
    ['a private key as the public key', { JENKINS_JWT_PUBLIC_KEY: privatePem }, /^JENKINS_JWT_PUBLIC_KEY: is a private key/],
    ['a public key file that is not there', { JENKINS_JWT_PUBLIC_KEY: '/nonexistent/jenkins.pem' }, /neither a PEM public key/],
    ['an OIDC issuer over plain http', { JENKINS_JWT_ISSUER: HTTP_ISSUER }, /^JENKINS_JWT_ISSUER: is plain http:\/\//],
    [
      'a JWKS URL over plain http',
      { JENKINS_JWKS_URL: `${HTTP_ISSUER}/jwks` },
      /^JENKINS_JWKS_URL: is plain http:\/\/ .* e\.g\. JENKINS_JWKS_URL=https:\/\//,
    ],
  ])('%s: one problem, from loadConfig', (_what, env, problem) => {
    expect(problems(env)).toEqual([expect.stringMatching(problem)]);
  });

  it('keeps loopback http (a Jenkins on the same machine, the tests) and issuers that are not URLs (HS256 tokens of notify)', () => {
    expect(problems({ JENKINS_JWT_ISSUER: 'http://127.0.0.1:8080/oidc', JENKINS_JWKS_URL: 'http://127.0.0.1:8080/oidc/jwks' })).toEqual([]);
    expect(problems({ JENKINS_JWT_ISSUER: 'jenkins-ci' })).toEqual([]);
  });

  it('hands the handlers their settings, validated', () => {
    const config = loadConfig(
      {
        ...goodEnv,
        SLACK_APP_TOKEN: 'xapp-1-A0123-4567-abcd',
        SLACK_BOT_TOKEN: 'xoxb-1234-5678-abcd',
        SLACK_API_URL: 'http://127.0.0.1:9/api',
        JENKINS_JWT_PUBLIC_KEY: rsa.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        JENKINS_JWT_ISSUER: 'https://jenkins.example.com/oidc',
      },
      { destinationTypes, cwd: tmp.dir },
    );
    expect(config.slack).toMatchObject({ mode: 'socket', botToken: 'xoxb-1234-5678-abcd', apiUrl: 'http://127.0.0.1:9/api/' });
    expect(config.jenkins).toMatchObject({ audience: 'release-bot', issuer: 'https://jenkins.example.com/oidc' });
    expect(config.jenkins.keys.publicKey?.alg).toBe('RS256');
    expect(loadConfig(goodEnv, { destinationTypes, cwd: tmp.dir }).slack).toBeUndefined();
  });

  it('check-config lists every handler problem in one run, exit 78', async () => {
    const run = await runCli(['check-config'], { ...brokenEnv, RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data') }, tmp.dir);
    expect(run.code).toBe(78);
    expect(run.stderr).toContain(`the configuration has ${expected.length} problem(s):`);
    expect(listed(run.stderr)).toEqual(expected.map((re) => expect.stringMatching(re)));
    noSecret(run.stdout + run.stderr);
  });

  it('serve refuses with the same list before it listens or writes anything, as do doctor and status', async () => {
    const dataDir = path.join(tmp.dir, 'serve-data');
    const env = { ...brokenEnv, RELEASE_BOT_DATA_DIR: dataDir, HOST: '127.0.0.1', PORT: String(await freePort()) };
    const check = await runCli(['check-config'], env, tmp.dir);
    const serve = await runCli(['serve'], env, tmp.dir);
    expect(serve.code).toBe(78);
    expect(listed(serve.stderr)).toEqual(listed(check.stderr));
    expect(listed(serve.stderr)).toHaveLength(expected.length);
    expect(serve.stderr).not.toContain('listening');
    expect(existsSync(dataDir)).toBe(false);
    noSecret(serve.stdout + serve.stderr);

    const doctor = await runCli(['doctor'], env, tmp.dir);
    expect(doctor.code).toBe(78);
    expect(listed(doctor.stdout)).toEqual(listed(check.stderr));
    noSecret(doctor.stdout + doctor.stderr);

    const status = await runCli(['status', 'conjur-cli'], env, tmp.dir);
    expect(status.code).toBe(78);
    expect(listed(status.stderr)).toEqual(listed(check.stderr));
    expect(existsSync(dataDir)).toBe(false);
  });
});

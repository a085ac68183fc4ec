import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { destinationTypes } from '../../publishers/registry.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'config');

/** A projects file that passes every check; each case breaks one thing in it or in the environment. */
const goodYaml = `channel: C0RELEASES
staging_dir: ./staging
identity: { strategy: email-localpart, email_domains: [example.com] }
projects:
  conjur-cli:
    authorized_group: release/conjur-cli
    jenkins_job: conjur-cli
    artifact: files
    destinations:
      - name: downloads
        type: exec
        command: [publish-release, "{project}", "{version}", "{dir}"]
      - name: npmjs
        type: npm
        registry: https://registry.npmjs.org/
        credentials: { NPM_TOKEN: release/npm/token }
        after: [downloads]
`;

interface BrokenCase {
  what: string;
  /** Variables set (a string) or removed (undefined) from the good environment. */
  env?: Record<string, string | undefined>;
  /** The projects file: a fixture's name, or the good file changed. */
  yaml?: string | ((good: string) => string);
  /** The one problem expected: where, what, and a right value. */
  problem: RegExp;
}

const destination = (yaml: string, extra: string) => yaml.replace('      - name: npmjs', `${extra}\n      - name: npmjs`);

const cases: BrokenCase[] = [
  // Secrets
  {
    what: 'short Jenkins secret',
    env: { JENKINS_JWT_SECRET: 'secret' },
    problem:
      /^JENKINS_JWT_SECRET: is 6 characters long: use at least 32 random characters, e\.g\. JENKINS_JWT_SECRET=\$\(openssl rand -hex 32\)$/,
  },
  {
    what: 'short Slack signing secret',
    env: { SLACK_SIGNING_SECRET: 'abc123' },
    problem: /^SLACK_SIGNING_SECRET: is not a Slack signing secret \(6 characters\): .* e\.g\. SLACK_SIGNING_SECRET=\w{32}$/,
  },
  {
    what: 'Slack signing secret with a space',
    env: { SLACK_SIGNING_SECRET: '8f742231b10e8888 abcd99yyyzzz85a5' },
    problem: /^SLACK_SIGNING_SECRET: is not a Slack signing secret \(33 characters, with spaces\)/,
  },
  {
    what: 'user token as the bot token',
    env: { SLACK_BOT_TOKEN: 'xoxp-1234-5678' },
    problem: /^SLACK_BOT_TOKEN: is not a bot token \(those start with xoxb-\): .* e\.g\. SLACK_BOT_TOKEN=xoxb-/,
  },
  {
    what: 'bot token as the app token',
    env: { SLACK_APP_TOKEN: 'xoxb-1234-5678' },
    problem: /^SLACK_APP_TOKEN: is not an app-level token \(those start with xapp-\): .* e\.g\. SLACK_APP_TOKEN=xapp-/,
  },
  // URLs
  {
    what: 'Conjur URL with a mistyped scheme',
    env: { CONJUR_APPLIANCE_URL: 'htps://conjur.example.com' },
    problem: /^CONJUR_APPLIANCE_URL is not a Conjur URL: use https:\/\/conjur\.example\.com/,
  },
  {
    what: 'Conjur URL without a scheme',
    env: { CONJUR_APPLIANCE_URL: 'conjur.example.com' },
    problem: /^CONJUR_APPLIANCE_URL: is not a URL: e\.g\. CONJUR_APPLIANCE_URL=https:\/\/conjur\.example\.com$/,
  },
  {
    what: 'Slack API URL over ftp',
    env: { SLACK_API_URL: 'ftp://slack.example.com/api/' },
    problem: /^SLACK_API_URL: is not an http:\/\/ or https:\/\/ URL: e\.g\. SLACK_API_URL=https:\/\/slack\.com\/api\/$/,
  },
  {
    what: 'JWKS URL as a file',
    env: { JENKINS_JWKS_URL: 'file:///etc/jwks.json' },
    problem: /^JENKINS_JWKS_URL: is not an http:\/\/ or https:\/\/ URL: e\.g\. JENKINS_JWKS_URL=https:\/\//,
  },
  {
    what: 'syslog URL over http',
    env: { AUDIT_SYSLOG_URL: 'http://syslog.example.com:514' },
    problem: /^AUDIT_SYSLOG_URL: is not udp:\/\/host:port or tcp:\/\/host:port: e\.g\. AUDIT_SYSLOG_URL=udp:\/\//,
  },
  // Other variables
  { what: 'port that is not a number', env: { PORT: 'abc' }, problem: /^PORT: "abc" is not a port number: use 1-65535, e\.g\. PORT=3000$/ },
  { what: 'port out of range', env: { PORT: '70000' }, problem: /^PORT: "70000" is not a port number: use 1-65535, e\.g\. PORT=3000$/ },
  {
    what: 'unknown log level',
    env: { LOG_LEVEL: 'verbose' },
    problem: /^LOG_LEVEL: "verbose" is not a log level: use fatal, .* e\.g\. LOG_LEVEL=info$/,
  },
  {
    what: 'unknown mode',
    env: { RELEASE_BOT_MODE: 'staging' },
    problem: /^RELEASE_BOT_MODE: "staging" is not a mode: use production or demo, e\.g\. RELEASE_BOT_MODE=production$/,
  },
  {
    what: 'no concurrent releases',
    env: { RELEASE_BOT_MAX_CONCURRENT_RELEASES: '0' },
    problem: /^RELEASE_BOT_MAX_CONCURRENT_RELEASES: "0" is not a whole number from 1 to 64, e\.g\. RELEASE_BOT_MAX_CONCURRENT_RELEASES=4$/,
  },
  {
    what: 'missing Conjur account',
    env: { CONJUR_ACCOUNT: undefined },
    problem: /^CONJUR_ACCOUNT: is not set: put your Conjur account name in \.env \(see \.env\.example\)$/,
  },
  {
    what: 'missing Conjur URL',
    env: { CONJUR_APPLIANCE_URL: undefined },
    problem: /^CONJUR_APPLIANCE_URL: is not set: put the URL of your Conjur server in \.env/,
  },
  {
    what: 'missing API key and token file',
    env: { CONJUR_AUTHN_API_KEY: undefined },
    problem: /^CONJUR_AUTHN_API_KEY: neither it nor CONJUR_AUTHN_TOKEN_FILE is set: give the bot its Conjur API key/,
  },
  {
    what: 'projects file that does not exist',
    env: { RELEASE_BOT_CONFIG: '/nonexistent/releases.yml' },
    problem: /^RELEASE_BOT_CONFIG: \/nonexistent\/releases\.yml does not exist: create it \(see releases\.example\.yml\)/,
  },
  // Paths and programs
  {
    what: 'data directory that is a file',
    env: { RELEASE_BOT_DATA_DIR: 'data-file' },
    problem:
      /^RELEASE_BOT_DATA_DIR: \/.*\/data-file is a file, not a directory: .* e\.g\. RELEASE_BOT_DATA_DIR=\/var\/lib\/release-bot\/data$/,
  },
  {
    what: 'data directory under a file',
    env: { RELEASE_BOT_DATA_DIR: 'data-file/data' },
    problem: /^RELEASE_BOT_DATA_DIR: \/.*\/data-file\/data: a part of this path is a file, not a directory/,
  },
  {
    what: 'staging directory that is a file',
    yaml: (y) => y.replace('staging_dir: ./staging', 'staging_dir: ./staging-file'),
    problem: /^releases\.yml: staging_dir: \/.*\/staging-file is a file, not a directory: .* e\.g\. staging_dir: \/srv\/release-staging$/,
  },
  {
    what: 'exec command not on PATH',
    yaml: (y) => y.replace('publish-release,', 'publish-relase,'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[0\]\.command\[0\]: publish-relase is not found on PATH \(.*\): install it or give its absolute path, e\.g\. \/usr\/local\/bin\/publish-relase$/,
  },
  {
    what: 'exec command at a missing absolute path',
    yaml: (y) => y.replace('publish-release,', '/opt/nowhere/publish,'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[0\]\.command\[0\]: \/opt\/nowhere\/publish does not exist or is not executable/,
  },
  {
    what: 'exec yank_command not on PATH',
    yaml: (y) =>
      y.replace('command: [publish-release, "{project}", "{version}", "{dir}"]', '$&\n        yank_command: [yank-relase, "{version}"]'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[0\]\.yank_command\[0\]: yank-relase is not found on PATH \(.*\): install it or give its absolute path/,
  },
  {
    what: 'npm not on PATH',
    env: { PATH: 'only-publish' },
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\] \(npm\): npm is not found on PATH \(.*only-publish\): install it \(apt-get install npm\)/,
  },
  // Credentials
  {
    what: 'mistyped npm credential',
    yaml: (y) => y.replace('NPM_TOKEN:', 'NPM_TOKN:'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.credentials\.NPM_TOKN: npm destinations do not read NPM_TOKN: npm needs NPM_TOKEN, e\.g\. credentials: \{ NPM_TOKEN: release\/npm\/npm-token \}$/,
  },
  {
    what: 'npm without its credential',
    yaml: (y) => y.replace('credentials: { NPM_TOKEN: release/npm/token }', 'credentials: {}'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.credentials: npm needs NPM_TOKEN: map it to a Conjur variable, e\.g\. credentials: \{ NPM_TOKEN: /,
  },
  {
    what: 'GitHub token under another name',
    yaml: (y) =>
      destination(
        y,
        '      - { name: releases, type: github, repository: cyberark/conjur-cli, credentials: { GH_TOKEN: release/github/token } }',
      ),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.credentials\.GH_TOKEN: github destinations do not read GH_TOKEN: github needs GITHUB_TOKEN, e\.g\. credentials: \{ GITHUB_TOKEN: release\/github\/github-token \}$/,
  },
  {
    what: 'docker registry credential mistyped',
    yaml: (y) =>
      y
        .replace('artifact: files', 'artifact: docker\n    image: { repository: conjur-cli }')
        .replace(
          / {4}destinations:[\s\S]*/,
          '    destinations:\n      - { name: hub, type: docker, repository: docker.io/cyberark/conjur-cli, credentials: { REGISTRY_USER: release/hub/user } }\n',
        ),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[0\]\.credentials\.REGISTRY_USER: docker destinations do not read REGISTRY_USER: docker reads only REGISTRY_USERNAME, REGISTRY_PASSWORD, SOURCE_REGISTRY_USERNAME, SOURCE_REGISTRY_PASSWORD, e\.g\. /,
  },
  {
    what: 'lower-case credential name',
    yaml: (y) => y.replace('NPM_TOKEN:', 'npm_token:'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.credentials\.npm_token: credential names are environment variable names: A-Z, 0-9 and _, e\.g\. NPM_TOKEN$/,
  },
  // The projects file
  {
    what: 'capitals in a project name',
    yaml: 'capital-project.yml',
    problem: /^releases\.yml: projects\.Conjur-CLI: project names are lower-case letters, digits, '\.', '_' and '-' \(e\.g\. conjur-cli\)$/,
  },
  {
    what: 'YAML: a key indented too far',
    yaml: 'yaml-bad-indent.yml',
    problem:
      /^releases\.yml: YAML syntax error at line 6, column 23: Nested mappings are not allowed in compact mappings; the line reads: " {4}authorized_group: release\/conjur-cli"/,
  },
  {
    what: 'YAML: a tab as indentation',
    yaml: 'yaml-tab.yml',
    problem:
      /^releases\.yml: YAML syntax error at line 5, column 1: Tabs are not allowed as indentation; the line reads: "\\tconjur-cli: \{\}"$/,
  },
  {
    what: 'YAML: a key twice',
    yaml: 'yaml-duplicate-key.yml',
    problem: /^releases\.yml: YAML syntax error at line 4, column 1: Map keys must be unique; the line reads: "channel: C0OTHER"$/,
  },
  {
    what: 'unknown destination type',
    yaml: (y) => y.replace('type: npm', 'type: pypi'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.type: unknown destination type "pypi": use one of directory, docker, exec, github, heroku, npm, rubygems, ssh$/,
  },
  {
    what: 'unknown key in a project',
    yaml: (y) => y.replace('    jenkins_job: conjur-cli\n', '    jenkins_job: conjur-cli\n    aprovals: 2\n'),
    problem:
      /^releases\.yml: projects\.conjur-cli: unknown key "aprovals": the keys here are .*approvals.* \(see releases\.example\.yml\)$/,
  },
  {
    what: 'unknown top-level key',
    yaml: (y) => `${y}chanel: C0OTHER\n`,
    problem: /^releases\.yml: \(top level\): unknown key "chanel": the keys here are channel, staging_dir, /,
  },
  {
    what: 'bad version parameter',
    yaml: (y) => y.replace('    artifact: files\n', '    artifact: files\n    version_parameter: release version\n'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.version_parameter: a Jenkins build parameter name: letters, digits and _, e\.g\. version_parameter: VERSION$/,
  },
  {
    what: 'unknown artifact kind',
    yaml: (y) => y.replace('artifact: files', 'artifact: tarball'),
    problem: /^releases\.yml: projects\.conjur-cli\.artifact: "tarball" is not allowed here: use one of files, docker$/,
  },
  {
    what: 'missing jenkins_job',
    yaml: (y) => y.replace('    jenkins_job: conjur-cli\n', ''),
    problem: /^releases\.yml: projects\.conjur-cli\.jenkins_job: is missing: add it, e\.g\. jenkins_job: conjur-cli$/,
  },
  {
    what: 'duplicate destination names',
    yaml: (y) => y.replace('name: npmjs', 'name: downloads').replace('after: [downloads]', 'after: []'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.name: "downloads" is used twice in this project: destination names must be unique: rename one, e\.g\. name: downloads-2$/,
  },
  {
    what: 'after naming an unknown destination',
    yaml: (y) => y.replace('after: [downloads]', 'after: [download]'),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.after\[0\]: this project has no destination "download": use one of downloads$/,
  },
  {
    what: 'npm destination without its registry',
    yaml: (y) => y.replace('        registry: https://registry.npmjs.org/\n', ''),
    problem:
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.registry: is missing: add it, e\.g\. registry: https:\/\/registry\.npmjs\.org\/$/,
  },
  {
    what: 'email-localpart without domains',
    yaml: (y) => y.replace(', email_domains: [example.com]', ''),
    problem:
      /^releases\.yml: identity\.email_domains: is not set, and strategy email-localpart needs it: .* e\.g\. `identity: \{ strategy: email-localpart, email_domains: \[example\.com\] \}`/,
  },
];

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe('broken configurations: one clear problem each (where, what, a right value)', () => {
  const tmp = makeTmpDir();
  const bin = path.join(tmp.dir, 'bin');
  const onlyPublish = path.join(tmp.dir, 'only-publish');
  const file = path.join(tmp.dir, 'releases.yml');
  const goodEnv = {
    CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
    CONJUR_ACCOUNT: 'acme',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
    // Slack's bot token, so that a case turning Slack on (a signing secret, an app token) breaks one thing only.
    SLACK_BOT_TOKEN: 'xoxb-1234-5678-abcd',
    RELEASE_BOT_CONFIG: file,
    RELEASE_BOT_DATA_DIR: 'data',
    PATH: bin,
  };

  beforeAll(() => {
    // Stand-ins for the programs the good file runs: found on PATH is all check-config asks of them.
    for (const [dir, programs] of [
      [bin, ['publish-release', 'npm', 'skopeo']],
      [onlyPublish, ['publish-release']],
    ] as const) {
      mkdirSync(dir);
      for (const program of programs) {
        writeFileSync(path.join(dir, program), '#!/bin/sh\nexit 0\n');
        chmodSync(path.join(dir, program), 0o755);
      }
    }
    mkdirSync(path.join(tmp.dir, 'staging'));
    writeFileSync(path.join(tmp.dir, 'staging-file'), '');
    writeFileSync(path.join(tmp.dir, 'data-file'), '');
  });
  afterAll(() => tmp.cleanup());

  const load = (c: Pick<BrokenCase, 'env' | 'yaml'>) => {
    const yaml = typeof c.yaml === 'string' ? readFileSync(path.join(fixtures, c.yaml), 'utf8') : (c.yaml ?? ((y: string) => y))(goodYaml);
    writeFileSync(file, yaml);
    const env: Record<string, string> = { ...goodEnv };
    for (const [key, value] of Object.entries(c.env ?? {})) {
      if (value === undefined) delete env[key];
      else env[key] = key === 'PATH' ? path.join(tmp.dir, value) : value;
    }
    return problemsOf(() => loadConfig(env, { destinationTypes, cwd: tmp.dir, checkPrograms: true }));
  };

  it('the good configuration has no problem', () => {
    expect(load({})).toEqual([]);
  });

  it('has at least 30 broken configurations', () => {
    expect(cases.length).toBeGreaterThanOrEqual(30);
  });

  it.each(cases)('$what', (c) => {
    expect(load(c)).toEqual([expect.stringMatching(c.problem)]);
  });

  it('check-config reports many of them in one run, exit 78', async () => {
    const broken = goodYaml
      .replace('staging_dir: ./staging', 'staging_dir: ./staging-file')
      .replace('publish-release,', 'publish-relase,')
      .replace('NPM_TOKEN:', 'NPM_TOKN:')
      .replace('after: [downloads]', 'after: [download]')
      .concat('      - { name: pypi, type: pypi }\n      - { name: pypi, type: directory, path: /srv/x }\n');
    writeFileSync(file, broken);
    const env = {
      ...goodEnv,
      RELEASE_BOT_DATA_DIR: 'data-file',
      // Values that no message contains: the CLI redacts every secret from what it prints.
      JENKINS_JWT_SECRET: 'tooshort',
      SLACK_SIGNING_SECRET: 'abc123',
      SLACK_BOT_TOKEN: 'xoxp-1234',
      PORT: 'abc',
      PATH: `${bin}${path.delimiter}${process.env.PATH ?? ''}`,
    };
    const run = await runCli(['check-config'], env, tmp.dir);
    expect(run.code).toBe(78);
    const expected = [
      /^PORT: "abc" is not a port number/,
      /^JENKINS_JWT_SECRET: is 8 characters long/,
      /^SLACK_SIGNING_SECRET: is not a Slack signing secret/,
      /^SLACK_BOT_TOKEN: is not a bot token/,
      /^RELEASE_BOT_DATA_DIR: .*data-file is a file, not a directory/,
      /^releases\.yml: staging_dir: .*staging-file is a file, not a directory/,
      /^releases\.yml: projects\.conjur-cli\.destinations\[0\]\.command\[0\]: publish-relase is not found on PATH/,
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.credentials\.NPM_TOKN: npm destinations do not read NPM_TOKN: npm needs NPM_TOKEN/,
      /^releases\.yml: projects\.conjur-cli\.destinations\[1\]\.after\[0\]: this project has no destination "download"/,
      /^releases\.yml: projects\.conjur-cli\.destinations\[2\]\.type: unknown destination type "pypi"/,
      /^releases\.yml: projects\.conjur-cli\.destinations\[3\]\.name: "pypi" is used twice/,
    ];
    const listed = run.stderr
      .split('\n')
      .filter((l) => l.startsWith('  - '))
      .map((l) => l.slice(4));
    expect(run.stderr).toContain(`the configuration has ${expected.length} problem(s):`);
    expect(listed).toEqual(expect.arrayContaining(expected.map((re) => expect.stringMatching(re))));
    expect(listed).toHaveLength(expected.length);
    expect(run.stderr).not.toContain('[REDACTED]');
  });

  it('check-config warns of plain http:// Conjur in production, and passes', async () => {
    writeFileSync(file, goodYaml);
    const run = await runCli(['check-config'], { ...goodEnv, CONJUR_APPLIANCE_URL: 'http://conjur.example.com' }, tmp.dir);
    expect(run.stderr).toMatch(
      /^release-bot: warning: CONJUR_APPLIANCE_URL: is plain http:\/\/ in production: .* e\.g\. CONJUR_APPLIANCE_URL=https:\/\/conjur\.example\.com$/m,
    );
    expect(run.code).toBe(0);
  });
});

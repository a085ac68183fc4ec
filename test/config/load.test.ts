import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { destinationTypes } from '../../publishers/registry.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { Redactor } from '../../src/redact.js';
import { runCli } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

const goodEnv = (file: string) => ({
  CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
  CONJUR_ACCOUNT: 'acme',
  CONJUR_AUTHN_LOGIN: 'host/release-bot',
  CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
  RELEASE_BOT_CONFIG: file,
});

const goodProjects = `channel: C0RELEASES
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
        command: ["/opt/release/publish", "{project}", "{version}", "{dir}"]
        credentials: { DOWNLOADS_TOKEN: release/downloads/token }
`;

/** check-config also checks that the exec command is there to run: here, node itself. */
const runnableProjects = goodProjects.replace('/opt/release/publish', process.execPath);

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

describe('loadConfig', () => {
  const tmp = makeTmpDir();
  const file = path.join(tmp.dir, 'releases.yml');
  afterAll(() => tmp.cleanup());

  it('loads the documented projects file and fills defaults', () => {
    writeFileSync(file, goodProjects);
    const config = loadConfig(goodEnv(file), { destinationTypes });
    const project = config.projects.get('conjur-cli');
    expect(project).toMatchObject({
      channel: 'C0RELEASES',
      approvals: 0,
      approver_group: 'release/conjur-cli',
      version_parameter: 'VERSION',
      concurrency: 4,
    });
    expect(project?.destinations[0]).toMatchObject({
      name: 'downloads',
      type: 'exec',
      credentials: { DOWNLOADS_TOKEN: 'release/downloads/token' },
      options: { command: ['/opt/release/publish', '{project}', '{version}', '{dir}'] },
    });
    expect(config.stagingDir).toBe(path.join(tmp.dir, 'staging'));
    expect(config.env).toMatchObject({ PORT: 3000, RELEASE_BOT_DATA_DIR: './data', JENKINS_JWT_AUDIENCE: 'release-bot' });
  });

  it('lists every missing variable at once, each with how to fix it', () => {
    writeFileSync(file, goodProjects);
    const problems = problemsOf(() => loadConfig({ RELEASE_BOT_CONFIG: file }, { destinationTypes }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^CONJUR_APPLIANCE_URL: is not set: put the URL/),
        expect.stringMatching(/^CONJUR_ACCOUNT: is not set: put your Conjur account name in \.env \(see \.env\.example\)/),
        expect.stringMatching(/^CONJUR_AUTHN_LOGIN: is not set/),
      ]),
    );
  });

  it('requires an API key or a token file', () => {
    writeFileSync(file, goodProjects);
    const { CONJUR_AUTHN_API_KEY: _, ...env } = goodEnv(file);
    expect(problemsOf(() => loadConfig(env))).toEqual([
      expect.stringMatching(/^CONJUR_AUTHN_API_KEY: neither it nor CONJUR_AUTHN_TOKEN_FILE is set/),
    ]);
  });

  it('names the key path of every problem in the projects file', () => {
    writeFileSync(
      file,
      `channel: C0RELEASES
staging_dir: ./staging
identity: { strategy: ldap }
projects:
  Bad_Name:
    authorized_group: release/x
    jenkins_job: x
    artifact: files
    destinations: [{ name: d, type: exec, command: [] }]
  app:
    authorized_group: release/app
    jenkins_job: app
    artifact: docker
    destinations:
      - { name: d, type: exec, command: [x], credentials: { lower-case: release/x } }
      - { name: d, type: nope }
      - { name: e, type: directory, path: /srv, surprise: 1 }
`,
    );
    const problems = problemsOf(() => loadConfig(goodEnv(file), { destinationTypes }));
    expect(problems).toEqual(
      expect.arrayContaining([
        expect.stringContaining('releases.yml: identity.strategy:'),
        expect.stringContaining('releases.yml: projects.Bad_Name:'),
      ]),
    );
    writeFileSync(
      file,
      goodProjects.replace('conjur-cli:', 'app:').replace('artifact: files', 'artifact: docker') +
        '      - { name: downloads, type: nope }\n      - { name: e, type: directory, path: /srv, surprise: 1 }\n',
    );
    const more = problemsOf(() => loadConfig(goodEnv(file), { destinationTypes }));
    expect(more).toEqual(
      expect.arrayContaining([
        expect.stringContaining('projects.app.image: a docker project needs image.repository'),
        expect.stringContaining('projects.app.destinations[1].name: "downloads" is used twice'),
        expect.stringMatching(/projects\.app\.destinations\[1\]\.type: unknown destination type "nope": use one of .*exec/),
        expect.stringContaining('projects.app.destinations[2].type: a "directory" destination publishes files artifacts'),
        expect.stringMatching(/projects\.app\.destinations\[2\]: unknown key "surprise"/),
      ]),
    );
  });

  it('checks after: names of this project only, never itself, no cycle, each problem at its key path', () => {
    const withDestinations = (lines: string) => goodProjects.replace(/ {4}destinations:\n[\s\S]*$/, `    destinations:\n${lines}`);
    writeFileSync(
      file,
      withDestinations(`      - { name: upload, type: directory, path: /srv/x }
      - { name: heroku, type: directory, path: /srv/y, after: [upload] }
`),
    );
    expect(
      loadConfig(goodEnv(file), { destinationTypes })
        .projects.get('conjur-cli')
        ?.destinations.map((d) => [d.name, d.after, d.options]),
    ).toEqual([
      ['upload', [], { path: '/srv/x' }],
      ['heroku', ['upload'], { path: '/srv/y' }],
    ]);

    writeFileSync(
      file,
      withDestinations(`      - { name: a, type: directory, path: /srv/a, after: [c] }
      - { name: b, type: directory, path: /srv/b, after: [a, nowhere] }
      - { name: c, type: directory, path: /srv/c, after: [b] }
      - { name: d, type: directory, path: /srv/d, after: [d] }
      - { name: e, type: directory, path: /srv/e, after: ['-bad name'] }
`),
    );
    const problems = problemsOf(() => loadConfig(goodEnv(file), { destinationTypes }));
    expect(problems).toEqual([
      'releases.yml: projects.conjur-cli.destinations[4].after[0]: destination names: letters, digits, ".", "_" and "-"',
    ]);
    writeFileSync(file, readFileSync(file, 'utf8').replace("after: ['-bad name']", 'after: []'));
    expect(problemsOf(() => loadConfig(goodEnv(file), { destinationTypes }))).toEqual([
      'releases.yml: projects.conjur-cli.destinations[1].after[1]: this project has no destination "nowhere": use one of a, c, d, e',
      'releases.yml: projects.conjur-cli.destinations[3].after[0]: "d" is this destination itself: a destination cannot wait for itself; remove it from after',
      'releases.yml: projects.conjur-cli.destinations[0].after: "a" waits for "c" waits for "b" waits for "a": a cycle, so none of them could ever start; remove one of these names from an after list',
    ]);
  });

  it('reports YAML syntax errors and a missing file', () => {
    writeFileSync(file, 'channel: [unclosed\n');
    expect(problemsOf(() => loadConfig(goodEnv(file)))).toEqual([expect.stringContaining('YAML syntax')]);
    expect(problemsOf(() => loadConfig(goodEnv(path.join(tmp.dir, 'missing.yml'))))).toEqual([
      expect.stringContaining('missing.yml does not exist'),
    ]);
  });

  it('registers secrets from the environment for redaction, and never puts them in a problem', () => {
    writeFileSync(file, goodProjects);
    const redactor = new Redactor();
    const problems = problemsOf(() =>
      loadConfig({ ...goodEnv(file), SLACK_BOT_TOKEN: 'xoxb-canary-token-value', PORT: 'not-a-port' }, { redactor }),
    );
    expect(problems.join('\n')).not.toContain('xoxb-canary');
    expect(redactor.redact('token xoxb-canary-token-value')).toBe('token [REDACTED]');
  });

  it('bounds RELEASE_BOT_MAX_CONCURRENT_RELEASES (default 4) and names it when wrong', () => {
    writeFileSync(file, goodProjects);
    expect(loadConfig(goodEnv(file)).env.RELEASE_BOT_MAX_CONCURRENT_RELEASES).toBe(4);
    expect(loadConfig({ ...goodEnv(file), RELEASE_BOT_MAX_CONCURRENT_RELEASES: '2' }).env.RELEASE_BOT_MAX_CONCURRENT_RELEASES).toBe(2);
    for (const bad of ['0', '1.5', 'many']) {
      expect(problemsOf(() => loadConfig({ ...goodEnv(file), RELEASE_BOT_MAX_CONCURRENT_RELEASES: bad }))).toEqual([
        expect.stringMatching(/^RELEASE_BOT_MAX_CONCURRENT_RELEASES: /),
      ]);
    }
  });

  it('in demo mode refuses a Conjur that is not on loopback', () => {
    writeFileSync(file, goodProjects);
    expect(problemsOf(() => loadConfig({ ...goodEnv(file), RELEASE_BOT_MODE: 'demo' }))).toEqual([
      'RELEASE_BOT_MODE: demo mode talks only to loopback stand-ins, and CONJUR_APPLIANCE_URL points at conjur.example.com: unset RELEASE_BOT_MODE to use the real one',
    ]);
  });

  it('in demo mode refuses a real Slack: Socket Mode, or a bot token without a loopback SLACK_API_URL', () => {
    writeFileSync(file, goodProjects);
    const demo = { ...goodEnv(file), CONJUR_APPLIANCE_URL: 'http://127.0.0.1:9', RELEASE_BOT_MODE: 'demo', SLACK_BOT_TOKEN: 'xoxb-demo' };
    expect(problemsOf(() => loadConfig({ ...demo, SLACK_APP_TOKEN: 'xapp-1' }))).toEqual([
      expect.stringContaining('SLACK_APP_TOKEN is set (Socket Mode connects to Slack itself)'),
      expect.stringContaining('SLACK_API_URL is not set (the default is Slack itself)'),
    ]);
    expect(problemsOf(() => loadConfig({ ...demo, SLACK_API_URL: 'https://slack.com/api/' }))).toEqual([
      expect.stringContaining('SLACK_API_URL points at slack.com'),
    ]);
    expect(loadConfig({ ...demo, SLACK_API_URL: 'http://127.0.0.1:9/api/' }).env.RELEASE_BOT_MODE).toBe('demo');
  });

  it('in demo mode never reads .env, where production credentials live', async () => {
    writeFileSync(file, runnableProjects);
    writeFileSync(path.join(tmp.dir, '.env'), 'CONJUR_ACCOUNT=from-dotenv\n');
    try {
      const { CONJUR_ACCOUNT, ...rest } = { ...goodEnv(file), CONJUR_APPLIANCE_URL: 'http://127.0.0.1:9' };
      expect(CONJUR_ACCOUNT).toBe('acme');
      const env = rest; // CONJUR_ACCOUNT comes only from .env
      const production = await runCli(['check-config'], env, tmp.dir);
      expect(production.code).toBe(0);
      const demo = await runCli(['check-config'], { ...env, RELEASE_BOT_MODE: 'demo' }, tmp.dir);
      expect(demo.code).toBe(78);
      expect(demo.stderr).toContain('CONJUR_ACCOUNT: is not set');
    } finally {
      rmSync(path.join(tmp.dir, '.env'));
    }
  });

  it('check-config prints every problem and exits non-zero; a good configuration exits 0', async () => {
    writeFileSync(file, runnableProjects);
    const bad = await runCli(['check-config'], { RELEASE_BOT_CONFIG: file }, tmp.dir);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toMatch(/the configuration has 3 problem\(s\):\n {2}- CONJUR_APPLIANCE_URL/);
    const good = await runCli(['check-config'], goodEnv(file), tmp.dir);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
    expect(good.stdout).toContain('configuration OK: 1 project(s)');
  });
});

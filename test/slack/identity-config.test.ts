import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { runCli } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

const env = (file: string) => ({
  CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
  CONJUR_ACCOUNT: 'acme',
  CONJUR_AUTHN_LOGIN: 'host/release-bot',
  CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
  RELEASE_BOT_CONFIG: file,
});

const projectsFile = (identity: string, more = '') => `channel: C0RELEASES
staging_dir: ./staging
identity: ${identity}
${more}projects:
  conjur-cli:
    authorized_group: release/conjur-cli
    jenkins_job: conjur-cli
    artifact: files
    destinations:
      - { name: mirror, type: directory, path: /srv/mirror }
`;

describe('the identity section of the projects file', () => {
  const tmp = makeTmpDir();
  const file = path.join(tmp.dir, 'releases.yml');
  const load = (identity: string, more?: string) => {
    writeFileSync(file, projectsFile(identity, more));
    return loadConfig(env(file), { cwd: tmp.dir });
  };
  const problemsOf = (identity: string, more?: string): string[] => {
    try {
      load(identity, more);
    } catch (err) {
      if (err instanceof ConfigError) return err.problems;
      throw err;
    }
    throw new Error('the configuration loaded');
  };

  afterAll(() => tmp.cleanup());

  it('check-config refuses email-localpart without email_domains, saying why and how, and accepts it with them', async () => {
    writeFileSync(file, projectsFile('{ strategy: email-localpart }'));
    const bad = await runCli(['check-config'], env(file), tmp.dir);
    expect(bad.code).toBe(78);
    expect(bad.stderr).toContain('releases.yml: identity.email_domains: is not set, and strategy email-localpart needs it');
    expect(bad.stderr).toContain('`identity: { strategy: email-localpart, email_domains: [example.com] }`');

    writeFileSync(file, projectsFile('{ strategy: email-localpart, email_domains: [Example.COM, corp.example.net] }'));
    const good = await runCli(['check-config'], env(file), tmp.dir);
    expect(good.stderr).toBe('');
    expect(good.code).toBe(0);
  });

  it('reads the keys with their defaults: domains lower-cased, guests off, the home from auth.test', () => {
    expect(load('{ strategy: email-localpart, email_domains: [Example.COM] }').identity).toEqual({
      strategy: 'email-localpart',
      map: {},
      allow_guests: false,
      email_domains: ['example.com'],
    });
    const pinned = load(
      '{ strategy: map, team_id: T024BE7LD, enterprise_id: E0AKF5D7N, allow_guests: true }',
      'audit_group: release/auditors\n',
    );
    expect(pinned.identity).toMatchObject({ team_id: 'T024BE7LD', enterprise_id: 'E0AKF5D7N', allow_guests: true });
    expect(pinned.auditGroup).toBe('release/auditors');
    expect(load('{ strategy: map }').auditGroup).toBeUndefined();
  });

  it.each([
    [
      'a wildcard domain',
      '{ strategy: email-localpart, email_domains: ["*.example.com"] }',
      'identity.email_domains[0]: a domain name such as example.com',
    ],
    [
      'an address for a domain',
      '{ strategy: email-localpart, email_domains: ["@example.com"] }',
      'identity.email_domains[0]: a domain name such as example.com',
    ],
    [
      'an IDN not in its xn-- form',
      '{ strategy: email-localpart, email_domains: [exämple.com] }',
      'identity.email_domains[0]: a domain name such as example.com',
    ],
    ['no domain at all', '{ strategy: email-localpart, email_domains: [] }', 'identity.email_domains: list at least one domain'],
    ['a team id that is none', '{ strategy: map, team_id: acme }', 'identity.team_id: a Slack workspace id such as T024BE7LD'],
    ['enterprise_id alone', '{ strategy: map, enterprise_id: E0AKF5D7N }', 'identity.enterprise_id: is set without identity.team_id'],
    ['allow_guests as a string', '{ strategy: map, allow_guests: "yes" }', 'identity.allow_guests'],
  ])('refuses %s', (_what, identity, problem) => {
    expect(problemsOf(identity)).toEqual(expect.arrayContaining([expect.stringContaining(problem)]));
  });
});

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { project, writeProjectsFile } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const PEM = '-----BEGIN CERTIFICATE-----\nMIIBfakecertificatebody\n-----END CERTIFICATE-----\n';

/** The Conjur variables as the one schema checks them at start (check-config lists every problem). */
describe('Conjur connection settings at start', () => {
  const tmp = makeTmpDir();
  const file = path.join(tmp.dir, 'releases.yml');
  writeProjectsFile(file, {
    staging_dir: './staging',
    projects: { app: project('app', [{ name: 'd', type: 'exec', command: ['/bin/true'], credentials: { T: 'release/app/token' } }]) },
  });
  afterAll(() => tmp.cleanup());
  const env = (extra: Record<string, string>) => ({
    CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
    CONJUR_ACCOUNT: 'acme',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
    RELEASE_BOT_CONFIG: file,
    ...extra,
  });
  const problems = (extra: Record<string, string>): string[] => {
    let found: string[] = ['(loaded without a problem)'];
    expect(() => {
      try {
        loadConfig(env(extra));
      } catch (err) {
        if (err instanceof ConfigError) found = err.problems;
        throw err;
      }
    }).toThrow(ConfigError);
    return found;
  };

  it('accepts CONJUR_SSL_CERTIFICATE alone, and a Conjur Cloud tenant with or without /api and account conjur', () => {
    expect(loadConfig(env({ CONJUR_SSL_CERTIFICATE: PEM })).env.CONJUR_SSL_CERTIFICATE).toBe(PEM);
    for (const url of ['https://acme.secretsmgr.cyberark.cloud', 'https://acme.secretsmgr.cyberark.cloud/api']) {
      expect(loadConfig(env({ CONJUR_APPLIANCE_URL: url, CONJUR_ACCOUNT: 'conjur' })).env.CONJUR_APPLIANCE_URL).toBe(url);
    }
  });

  it('refuses both certificate variables at once, a certificate that is not PEM, and a Cloud tenant with another account', () => {
    const certFile = path.join(tmp.dir, 'ca.pem');
    writeFileSync(certFile, PEM);
    expect(problems({ CONJUR_SSL_CERTIFICATE: PEM, CONJUR_CERT_FILE: certFile }).join('\n')).toContain(
      'CONJUR_SSL_CERTIFICATE and CONJUR_CERT_FILE are both set',
    );
    expect(problems({ CONJUR_SSL_CERTIFICATE: certFile }).join('\n')).toContain('CONJUR_SSL_CERTIFICATE is not a PEM certificate');
    expect(problems({ CONJUR_APPLIANCE_URL: 'https://acme.secretsmgr.cyberark.cloud/api', CONJUR_ACCOUNT: 'acme' }).join('\n')).toContain(
      'CONJUR_ACCOUNT=conjur',
    );
  });
});

import path from 'node:path';
import { requiredTools } from '../../handlers/cli/commands/doctor.js';
import { loadAppConfig } from '../../app/create.js';
import { project, writeProjectsFile, type DestinationSpec } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const KNOWN_HOSTS = 'downloads.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';

/** The tools doctor requires for one files project with these destinations. */
function toolsFor(destinations: DestinationSpec[]): Record<string, string[]> {
  const tmp = makeTmpDir();
  try {
    const file = path.join(tmp.dir, 'releases.yml');
    writeProjectsFile(file, {
      staging_dir: tmp.dir,
      identity: { strategy: 'map', map: { U024BE7LH: 'alice' } },
      projects: { 'conjur-cli': project('conjur-cli', destinations) },
    });
    const config = loadAppConfig({
      CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
      RELEASE_BOT_CONFIG: file,
      RELEASE_BOT_DATA_DIR: tmp.dir,
    });
    return Object.fromEntries(
      [...requiredTools(config)].map(([tool, why]) => [tool, [...why]]).sort(([a], [b]) => String(a).localeCompare(String(b))),
    );
  } finally {
    tmp.cleanup();
  }
}

const ssh = (name: string, method?: 'scp' | 'rsync'): DestinationSpec => ({
  name,
  type: 'ssh',
  host: 'downloads.example.com',
  user: 'release',
  path: '/srv/downloads/{project}/{version}',
  known_hosts: KNOWN_HOSTS,
  ...(method ? { method } : {}),
  credentials: { SSH_PRIVATE_KEY: 'release/downloads/ssh-key' },
});

describe('the tools doctor requires', () => {
  it('an ssh destination with the default method (scp) needs ssh and scp, not rsync', () => {
    expect(toolsFor([ssh('downloads')])).toEqual({ scp: ['ssh destinations'], ssh: ['ssh destinations'] });
    expect(toolsFor([ssh('downloads', 'scp')])).toEqual({ scp: ['ssh destinations'], ssh: ['ssh destinations'] });
  });

  it('an rsync destination needs ssh and rsync, not scp', () => {
    expect(toolsFor([ssh('downloads', 'rsync')])).toEqual({ rsync: ['ssh destinations'], ssh: ['ssh destinations'] });
  });

  it('needs both when two destinations use one method each, and static tools stay required', () => {
    expect(
      toolsFor([
        ssh('a', 'scp'),
        ssh('b', 'rsync'),
        { name: 'npmjs', type: 'npm', registry: 'https://registry.npmjs.org/', credentials: { NPM_TOKEN: 'release/npm/token' } },
      ]),
    ).toEqual({
      npm: ['npm destinations'],
      rsync: ['ssh destinations'],
      scp: ['ssh destinations'],
      ssh: ['ssh destinations'],
    });
  });
});

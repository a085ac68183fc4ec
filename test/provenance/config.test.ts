import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { destinationTypes } from '../../publishers/registry.js';
import { ConfigError, loadConfig } from '../../src/config/load.js';
import { makeTmpDir } from '../support/tmp.js';

const tmp = makeTmpDir('release-bot-provenance-config-');
afterAll(() => tmp.cleanup());

function load(
  provenance: string,
  projectProvenance = '',
  destinations = '      - { name: downloads, type: directory, path: /srv/d }\n      - { name: npmjs, type: npm, registry: "https://registry.npmjs.org/", credentials: { NPM_TOKEN: release/npm/token } }\n',
) {
  mkdirSync(path.join(tmp.dir, 'staging'), { recursive: true });
  const file = path.join(tmp.dir, 'releases.yml');
  writeFileSync(
    file,
    `channel: C0RELEASES\nstaging_dir: ./staging\nidentity: { strategy: map, map: {} }\n${provenance}projects:\n  app:\n    authorized_group: release/app\n    jenkins_job: app\n    artifact: files\n${projectProvenance}    destinations:\n${destinations}`,
  );
  return loadConfig(
    {
      CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
      RELEASE_BOT_CONFIG: file,
      RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
    },
    { destinationTypes },
  );
}

const problems = (fn: () => unknown): string[] => {
  try {
    fn();
    return [];
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
};

test('the file-wide provenance applies to each project; a project overrides the key or the store', () => {
  expect(load('provenance: { signing_key: release/provenance/key, store: downloads }\n').projects.get('app')?.provenance).toEqual({
    signing_key: 'release/provenance/key',
    store: 'downloads',
  });
  expect(
    load(
      'provenance: { signing_key: release/provenance/key, store: downloads }\n',
      '    provenance: { signing_key: release/app/key }\n',
    ).projects.get('app')?.provenance,
  ).toEqual({ signing_key: 'release/app/key', store: 'downloads' });
  expect(load('').projects.get('app')?.provenance).toBeUndefined();
});

test('an npm destination without a store, a store that is not a directory or ssh destination of the project, a key that is not a variable id: each refused at load', () => {
  expect(problems(() => load('provenance: { signing_key: release/provenance/key }\n'))).toEqual([
    'releases.yml: projects.app.provenance.store: is not set, and npmjs cannot carry an attestation: name a directory or ssh destination of app to keep it, e.g. provenance: { store: downloads }',
  ]);
  expect(problems(() => load('provenance: { signing_key: release/provenance/key, store: npmjs }\n'))).toEqual([
    'releases.yml: projects.app.provenance.store: "npmjs" is not a directory or ssh destination of app: name one of downloads',
  ]);
  expect(problems(() => load('provenance: { signing_key: "not a variable id!" }\n'))).toEqual([
    expect.stringContaining('provenance.signing_key'),
  ]);
});

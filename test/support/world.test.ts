import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { destinationTypes } from '../../publishers/registry.js';
import { loadConfig, type DestinationTypeSpec } from '../../src/config/load.js';
import { project, projectsYaml, testDestination, type DestinationSpec, type ProjectSpec } from './projects-file.js';
import { makeWorld } from './world.js';

/** A type a test registers itself, as the core tests do. */
const recording = { type: 'recording', options: z.object({ script: z.string(), tries: z.number().optional() }).strict() };

describe('the test world', () => {
  const world = makeWorld();
  afterAll(() => world.cleanup());

  it('writes a projects file the product loads as written, every destination type among them', () => {
    const destinations: DestinationSpec[] = [
      { name: 'downloads', type: 'exec', command: [process.execPath, '{version}'], env: { OUT: 'x' }, credentials: { TOKEN: 'release/t' } },
      { name: 'mirror', type: 'directory', path: `${world.dir}/mirror/{project}/{version}`, retries: 0 },
      { name: 'gems', type: 'rubygems', credentials: { GEM_HOST_API_KEY: 'release/rubygems/key' } },
    ];
    world.writeProjects({
      identity: { strategy: 'email-localpart', email_domains: ['example.com'] },
      projects: {
        'conjur-cli': project('conjur-cli', destinations, { approvals: 1, approver_group: 'release/approvers' }),
        'conjur-img': project('conjur-img', [{ name: 'hub', type: 'docker', repository: 'docker.io/cyberark/conjur-cli', latest: true }], {
          artifact: 'docker',
          image: { repository: '127.0.0.1:5000/builds/conjur-cli', tls_verify: false },
        }),
        summon: project('summon', [testDestination(recording, 'rec', { script: 'a: "b"', tries: 2 }, { after: [] })], {
          jenkins_job: 'summon/*',
        }),
      },
    });
    const types = new Map<string, DestinationTypeSpec>([
      ...destinationTypes,
      ['recording', { options: recording.options, artifacts: ['files'] }],
    ]);
    const config = loadConfig(world.env({ url: 'http://127.0.0.1:1', apiKey: 'k'.repeat(55) }), { destinationTypes: types });
    expect(config.stagingDir).toBe(world.stagingDir);
    expect(config.identity).toMatchObject({ strategy: 'email-localpart', email_domains: ['example.com'] });
    const cli = config.projects.get('conjur-cli');
    expect(cli).toMatchObject({ authorized_group: 'release/conjur-cli', jenkins_job: 'conjur-cli', artifact: 'files', approvals: 1 });
    expect(cli?.destinations.map((d) => [d.name, d.type])).toEqual([
      ['downloads', 'exec'],
      ['mirror', 'directory'],
      ['gems', 'rubygems'],
    ]);
    expect(config.projects.get('conjur-img')?.destinations[0]).toMatchObject({ type: 'docker', options: { latest: true } });
    expect(cli?.destinations[0]).toMatchObject({
      credentials: { TOKEN: 'release/t' },
      options: { command: [process.execPath, '{version}'] },
    });
    // A test type's options sit beside the common keys, as the file holds them; no trace of the builder's own key.
    expect(config.projects.get('summon')?.destinations[0]).toMatchObject({
      name: 'rec',
      type: 'recording',
      options: { script: 'a: "b"', tries: 2 },
    });
    expect(readFileSync(world.configFile, 'utf8')).not.toContain('Symbol');
  });

  it('stages files, subdirectories and bytes included; replace clears an earlier build', () => {
    const dir = world.stageFiles('app', '1.0.0', { 'a.tgz': 'a', 'docs/deep/NOTES': Buffer.from([0, 1, 2]) });
    expect(dir).toBe(path.join(world.stagingDir, 'app', '1.0.0'));
    expect(readFileSync(path.join(dir, 'docs/deep/NOTES'))).toEqual(Buffer.from([0, 1, 2]));
    world.stageFiles('app', '1.0.0', { 'b.tgz': 'b' });
    expect(readFileSync(path.join(dir, 'a.tgz'), 'utf8')).toBe('a');
    world.stageFiles('app', '1.0.0', { 'c.tgz': 'c' }, true);
    expect(() => readFileSync(path.join(dir, 'a.tgz'))).toThrow('ENOENT');
  });

  it('refuses, at compile time, a key the product does not know', () => {
    // @ts-expect-error -- `pathh` is no option of a directory destination
    const typo: DestinationSpec = { name: 'm', type: 'directory', pathh: '/x' };
    // @ts-expect-error -- no such destination type is registered
    const unknown: DestinationSpec = { name: 'm', type: 'ftp', path: '/x' };
    // @ts-expect-error -- a project key spelt the British way
    const british: Partial<ProjectSpec> = { authorised_group: 'release/x' };
    // @ts-expect-error -- not an option of the recording type
    const option = testDestination(recording, 'rec', { scrip: 'x' });
    expect(projectsYaml({ staging_dir: '/s', projects: {} })).toContain('channel: C0RELEASES');
    expect([typo, unknown, british, option]).toHaveLength(4);
  });
});

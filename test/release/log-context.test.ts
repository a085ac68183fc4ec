import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { ErrorCode } from '../../src/errors.js';
import { createApp, type App } from '../../app/create.js';
import { project, writeProjectsFile } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * Every log line of a release names it: from the request (before the lock, during the Conjur
 * membership check) to the end, the Conjur client's own lines included, and for a refusal too.
 */
describe('the release id is on every log line of a release', () => {
  const tmp = makeTmpDir();
  let conjur: ConjurStandIn;
  let app: App;
  const lines: Record<string, unknown>[] = [];

  beforeAll(async () => {
    conjur = await startConjurStandIn({
      account: 'acme',
      apiKeys: { 'host/release-bot': 'k'.repeat(55) },
      groups: { 'release/app': ['user:alice'] },
      webservices: membershipSentinels(['release/app']),
      variables: { 'release/app/token': { value: 'token-canary-1b2c3d4e5f', readers: ['host:release-bot'] } },
    });
    const staging = path.join(tmp.dir, 'staging');
    writeProjectsFile(path.join(tmp.dir, 'releases.yml'), {
      staging_dir: staging,
      identity: { strategy: 'map' },
      projects: {
        app: project('app', [
          { name: 'mirror', type: 'directory', path: `${tmp.dir}/mirror/{project}/{version}`, credentials: { TOKEN: 'release/app/token' } },
        ]),
      },
    });
    app = createApp({
      env: {
        CONJUR_APPLIANCE_URL: conjur.url,
        CONJUR_ACCOUNT: 'acme',
        CONJUR_AUTHN_LOGIN: 'host/release-bot',
        CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
        RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
        RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
        LOG_LEVEL: 'debug',
      },
      logDestination: new Writable({
        write(chunk, _enc, cb) {
          for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l) as Record<string, unknown>);
          cb();
        },
      }),
    });
    for (const v of ['1.0.0', '1.0.1']) {
      mkdirSync(path.join(staging, 'app', v), { recursive: true });
      writeFileSync(path.join(staging, 'app', v, `app-${v}.tgz`), `bytes ${v}`);
      await app.core.stage({ project: 'app', version: v, build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
    }
  });

  afterAll(async () => {
    app.close();
    await conjur.close();
    tmp.cleanup();
  });

  it("a published release: each line from request to finish carries releaseId, project and version, the Conjur client's too", async () => {
    lines.length = 0;
    const summary = await app.core.release('app', '1.0.0', { login: 'alice', via: 'cli' });
    expect(summary.state).toBe('published');
    const messages = lines.map((l) => l.msg);
    // The first request of the process authenticates; all four Conjur client lines are there.
    for (const m of [
      'conjur request',
      'authenticated to Conjur',
      'checked Conjur group membership',
      'fetched Conjur variables',
      'release started',
      'destination finished',
      'release finished',
    ]) {
      expect(messages).toContain(m);
    }
    expect(lines.length).toBeGreaterThan(8);
    for (const l of lines) expect(l).toMatchObject({ releaseId: summary.releaseId, project: 'app', version: '1.0.0' });
    // One key each: the core's own child logger and the context do not both write it.
    expect(lines.every((l) => Object.keys(l).filter((k) => k === 'releaseId').length === 1)).toBe(true);
  });

  it('a refused release: its lines (the Conjur request, the refusal) carry the id of its denied record', async () => {
    lines.length = 0;
    await expect(app.core.release('app', '1.0.1', { login: 'mallory', via: 'cli' })).rejects.toMatchObject({
      code: ErrorCode.NotAuthorized,
    });
    const denied = app.releases.latest('app', '1.0.1', 1)[0];
    expect(denied?.state).toBe('denied');
    // (The group's sentinel does not list mallory: the request's own line, then the refusal.)
    expect(lines.map((l) => l.msg)).toEqual(expect.arrayContaining(['conjur request', 'release refused']));
    for (const l of lines) expect(l).toMatchObject({ releaseId: denied?.id });
  });

  it('lines outside a release carry no release id', async () => {
    lines.length = 0;
    app.log.info('outside');
    await app.core.isMember('alice', 'release/app');
    expect(lines.length).toBeGreaterThan(1);
    for (const l of lines) expect(l.releaseId).toBeUndefined();
  });
});

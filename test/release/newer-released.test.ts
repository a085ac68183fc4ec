import { z } from 'zod';
import { definePublisher } from '../../src/publishing/define-publisher.js';
import type { PublishContext } from '../../src/publishing/types.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { testDestination } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * What a floating tag may do: the core tells each destination whether a newer version of the project
 * is already released (and not yanked), so that a hotfix of an older line never takes docker's
 * `latest` backwards (publishers/docker.ts pointLatest).
 */
describe('the core tells a destination about a newer released version', () => {
  const seen: Array<{ version: string; newerReleased: string | undefined }> = [];
  const spy = definePublisher({
    type: 'spy',
    description: 'records what the core tells it',
    artifacts: ['files'],
    options: z.object({}).strict(),
    tools: [],
    publish: (ctx: PublishContext) => {
      seen.push({ version: ctx.version, newerReleased: ctx.newerReleased });
      return Promise.resolve({ status: 'published' as const });
    },
  });
  const alice = { login: 'alice', via: 'cli' as const };
  let tmp: ReturnType<typeof makeTmpDir>;
  let f: CoreFixture;

  beforeAll(() => {
    tmp = makeTmpDir();
    f = makeCore(tmp.dir, appProject([testDestination(spy, 'spy')]), memoryConjur({ 'release/app': ['alice'] }), [spy]);
  });
  afterAll(() => {
    f.close();
    tmp.cleanup();
  });

  const release = async (version: string) => {
    f.stageFiles('app', version, { [`app-${version}.tgz`]: `bytes ${version}` });
    await f.core.stage({ project: 'app', version, build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
    await f.core.release('app', version, alice);
  };

  it('is told nothing for the newest, and the newest version for a hotfix of an older line', async () => {
    await release('4.1.0');
    await release('4.2.0');
    await release('4.1.1');
    await release('4.3.0-rc.1');
    expect(seen).toEqual([
      { version: '4.1.0', newerReleased: undefined },
      { version: '4.2.0', newerReleased: undefined },
      { version: '4.1.1', newerReleased: '4.2.0' },
      { version: '4.3.0-rc.1', newerReleased: undefined },
    ]);
  });

  it('a yanked version does not count: after 4.3.0-rc.1 is yanked, 4.2.1 is the newest again', async () => {
    f.db
      .prepare(
        `INSERT INTO yanks (id, project, version, state, reason, requester_login, via, created_at) VALUES ('yank_t', 'app', '4.3.0-rc.1', 'yanked', 'test', 'alice', 'cli', '2026-01-01T00:00:00Z')`,
      )
      .run();
    await release('4.2.1');
    expect(seen.at(-1)).toEqual({ version: '4.2.1', newerReleased: undefined });
  });
});

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { testDestination } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

/** Every entry under `root` with its mode, as the publisher sees it while it runs. */
function modes(root: string): Record<string, number> {
  const out: Record<string, number> = { '.': statSync(root).mode & 0o777 };
  const walk = (dir: string, rel: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out[r] = statSync(path.join(dir, e.name)).mode & 0o777;
      if (e.isDirectory()) walk(path.join(dir, e.name), r);
    }
  };
  walk(root, '');
  return out;
}

describe('the private copy handed to publishers is read-only all the way down', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let f: CoreFixture;
  afterEach(() => {
    f.close();
    tmp.cleanup();
  });

  it('every directory 0555 and every file 0444, the label included; removed after the release', async () => {
    tmp = makeTmpDir();
    const seen: { dir: string; modes: Record<string, number> }[] = [];
    const probe: PublisherDefinition = {
      type: 'probe',
      description: 'records the modes of the copy',
      artifacts: ['files'],
      options: z.object({}).strict(),
      tools: [],
      async publish(ctx) {
        seen.push({ dir: ctx.dir, modes: modes(ctx.dir) });
        return { status: 'published' };
      },
    };
    f = makeCore(tmp.dir, appProject([testDestination(probe, 'probe')]), memoryConjur({ 'release/app': ['alice'] }), [probe]);
    f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': 'a', 'docs/README': 'b', 'docs/deep/er/NOTES': 'c' });
    await f.core.stage({ project: 'app', version: '1.0.0', build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
    expect((await f.core.release('app', '1.0.0', { login: 'alice', via: 'cli' })).state).toBe('published');
    expect(seen).toHaveLength(1);
    expect(seen[0]?.modes).toEqual({
      '.': 0o555,
      'app-1.0.0.tgz': 0o444,
      'app-1.0.0.release.json': 0o444,
      docs: 0o555,
      'docs/README': 0o444,
      'docs/deep': 0o555,
      'docs/deep/er': 0o555,
      'docs/deep/er/NOTES': 0o444,
    });
    expect(() => statSync(path.dirname(seen[0]?.dir as string))).toThrow(/ENOENT/);
  });
});

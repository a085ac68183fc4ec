import { createHash } from 'node:crypto';
import { chmodSync, existsSync, readFileSync, renameSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { startBot, type Bot } from '../jenkins/helpers/bot.js';
import { botReport } from '../jenkins/helpers/reports.js';
import { token } from '../jenkins/helpers/tokens.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const alice = { login: 'alice', via: 'cli' as const };

/**
 * The quarantine's copies are not fsync'd (src/staging/quarantine.ts): after a crash the staged build is
 * recorded while its tree may be missing or hold files cut short or zero-filled. Made here by hand as the
 * disk would leave them. Such a copy is refused at release, nothing is published, and staging the same
 * build again (Jenkins' retry, a new token) replaces the torn tree.
 */
describe('a quarantine copy torn by a crash (release-bot serve, signed webhook)', () => {
  let bot: Bot;
  beforeAll(async () => {
    bot = await startBot();
  });
  afterAll(async () => {
    await bot.stop();
  });

  const files = (version: string) => ({
    [`conjur-cli-${version}.gem`]: `gem ${version} `.repeat(1000),
    'docs/README': `readme ${version}`,
  });
  const report = (version: string) => {
    const artifacts = Object.entries(files(version)).map(([p, content]) => ({ path: p, sha256: sha(content) }));
    return bot.post('/webhooks/jenkins', botReport({ version, artifacts }), { authorization: `Bearer ${token()}` });
  };
  const treeOf = (version: string) => {
    const staged = bot.running.app.staged.current('conjur-cli', version);
    if (staged?.artifact.kind !== 'files') throw new Error('not staged');
    return bot.running.app.core.quarantine.treeDir(staged.artifact.files);
  };
  const writable = (tree: string, rel: string) => {
    chmodSync(tree, 0o755);
    chmodSync(path.dirname(path.join(tree, rel)), 0o755);
    chmodSync(path.join(tree, rel), 0o644);
  };
  const tears: Record<string, (tree: string) => void> = {
    'a file cut short': (tree) => {
      writable(tree, 'docs/README');
      truncateSync(path.join(tree, 'docs/README'), 3);
    },
    'a file empty (its blocks never reached the disk)': (tree) => {
      writable(tree, 'conjur-cli-6.1.1.gem');
      truncateSync(path.join(tree, 'conjur-cli-6.1.1.gem'), 0);
    },
    'a file zero-filled at its full size': (tree) => {
      writable(tree, 'conjur-cli-6.1.2.gem');
      writeFileSync(
        path.join(tree, 'conjur-cli-6.1.2.gem'),
        Buffer.alloc(Buffer.byteLength(files('6.1.2')['conjur-cli-6.1.2.gem'] as string)),
      );
    },
    'the tree gone (its rename never reached the disk)': (tree) => {
      chmodSync(tree, 0o755);
      renameSync(tree, `${tree}.lost`);
    },
  };

  it.each(Object.keys(tears).map((what, i) => [what, `6.1.${i}`]))(
    '%s: the release is refused and publishes nothing; staging the build again repairs it',
    async (what, version) => {
      bot.stageFiles('conjur-cli', version, files(version));
      expect((await report(version)).status).toBe(202);
      const tree = treeOf(version);
      (tears[what] as (tree: string) => void)(tree);

      const refused = await bot.running.app.core.release('conjur-cli', version, alice);
      expect(refused).toMatchObject({
        state: 'failed',
        error: { code: what.startsWith('the tree') ? ErrorCode.NotStaged : ErrorCode.ArtifactMismatch },
      });
      expect(existsSync(path.join(bot.published, 'conjur-cli', version))).toBe(false);

      // The same build reported again: the same files, the same tree, now whole.
      const again = await report(version);
      expect(again.status).toBe(200);
      expect(again.json).toMatchObject({ status: 'unchanged' });
      expect(treeOf(version)).toBe(tree);
      expect((await bot.running.app.core.release('conjur-cli', version, alice)).state).toBe('published');
      for (const [rel, content] of Object.entries(files(version)))
        expect(readFileSync(path.join(bot.published, 'conjur-cli', version, rel), 'utf8')).toBe(content);
    },
  );
});

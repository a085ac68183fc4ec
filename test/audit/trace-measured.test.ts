import { createHash } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { formatTrace, traceVersion } from '../../src/audit/trace.js';
import { ErrorCode } from '../../src/errors.js';
import { removeTree } from '../../src/staging/quarantine.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { makeTmpDir } from '../support/tmp.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * "Digests at publish" are measured: hashed while the verified files are copied, not copied from the
 * staging record. The trace compares the measurement with staging and shows what differs.
 */
describe('audit trace: digests measured at publish', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let f: CoreFixture;
  const alice = { login: 'alice', via: 'cli' as const };
  const trace = (version: string) => {
    const entries = f.audit.list({ project: 'app', version, limit: 1000 }).reverse();
    const t = traceVersion('app', version, entries);
    return { t, text: formatTrace(t), end: entries[entries.length - 1] };
  };

  beforeEach(() => {
    tmp = makeTmpDir();
    f = makeCore(
      tmp.dir,
      appProject([{ name: 'mirror', type: 'directory', path: `${tmp.dir}/mirror/{project}/{version}` }]),
      memoryConjur({ 'release/app': ['alice'] }),
    );
  });
  afterEach(() => {
    f.close();
    tmp.cleanup();
  });

  const stage = async (version: string, files: Record<string, string>) => {
    const dir = f.stageFiles('app', version, files);
    await f.core.stage({ project: 'app', version, build: { number: 3 }, reportedBy: 'test', actor: { via: 'test' } });
    return dir;
  };
  /** The bot's own copy of a staged version (what releases read): `<data>/quarantine/trees/<digest>`. */
  const quarantined = (version: string): string => {
    const staged = f.staged.current('app', version);
    if (staged?.artifact.kind !== 'files') throw new Error(`app ${version} is not staged`);
    return f.core.quarantine.treeDir(staged.artifact.files);
  };

  it('a published release records the digests hashed while copying, and the trace says they match', async () => {
    await stage('1.0.0', { 'app-1.0.0.tgz': 'the bytes', 'docs/README': 'read me' });
    expect((await f.core.release('app', '1.0.0', alice)).state).toBe('published');
    const { t, text, end } = trace('1.0.0');
    expect(end).toMatchObject({
      type: 'published',
      data: {
        publishedArtifact: {
          kind: 'files',
          files: [
            { path: 'app-1.0.0.tgz', sha256: sha('the bytes'), size: 9 },
            { path: 'docs/README', sha256: sha('read me'), size: 7 },
          ],
        },
      },
    });
    expect(t.digestsMatch).toBe(true);
    expect(text).toContain('at publish:  same digests as at staging (re-hashed before publishing)');
  });

  it('a release refused for a file changed in the quarantine records what was measured, and the trace shows the mismatch', async () => {
    await stage('1.1.0', { 'app-1.1.0.tgz': 'the bytes', 'other.txt': 'unchanged' });
    const dir = quarantined('1.1.0');
    chmodSync(dir, 0o755);
    chmodSync(path.join(dir, 'app-1.1.0.tgz'), 0o644);
    writeFileSync(path.join(dir, 'app-1.1.0.tgz'), 'tampered bytes');
    const summary = await f.core.release('app', '1.1.0', alice);
    expect(summary).toMatchObject({ state: 'failed', error: { code: ErrorCode.ArtifactMismatch } });
    const { t, text, end } = trace('1.1.0');
    expect(end).toMatchObject({
      type: 'failed',
      data: { publishedArtifact: { files: expect.arrayContaining([{ path: 'app-1.1.0.tgz', sha256: sha('tampered bytes'), size: 14 }]) } },
    });
    expect(t.digestsMatch).toBe(false);
    expect(text).not.toContain('same digests as at staging');
    expect(text).toContain('at publish:  DIFFERENT digests from staging:');
    expect(text).toContain(`sha256:${sha('tampered bytes')}  app-1.1.0.tgz CHANGED (staged sha256:${sha('the bytes')})`);
    expect(text).toContain(`sha256:${sha('unchanged')}  other.txt (same)`);
  });

  it('a file added to the staging directory after staging is neither published nor measured', async () => {
    const dir = await stage('1.2.0', { 'app-1.2.0.tgz': 'the bytes' });
    writeFileSync(path.join(dir, 'extra.sh'), 'echo sneaky');
    expect((await f.core.release('app', '1.2.0', alice)).state).toBe('published');
    const { t, text } = trace('1.2.0');
    expect(t.digestsMatch).toBe(true);
    expect(text).not.toContain('extra.sh');
    expect(existsSync(path.join(tmp.dir, 'mirror/app/1.2.0/extra.sh'))).toBe(false);
  });

  it('an attempt that ended before verifying says nothing was measured', async () => {
    await stage('1.3.0', { 'app-1.3.0.tgz': 'the bytes' });
    await removeTree(quarantined('1.3.0'));
    expect((await f.core.release('app', '1.3.0', alice)).state).toBe('failed');
    const { text } = trace('1.3.0');
    expect(text).toContain('at publish:  no digests measured');
  });
});

import { execFile } from 'node:child_process';
import { chmodSync, chownSync, existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { directoryPublisher } from '../../publishers/directory.js';
import { ErrorCode } from '../../src/errors.js';
import { publishContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('the directory publisher: read back, never overwrite', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => (tmp = makeTmpDir()));
  afterEach(() => tmp.cleanup());

  const label = (over: Record<string, unknown> = {}) =>
    `${JSON.stringify({ project: 'conjur-cli', version: '4.2.0', releaseId: 'rel_one', build: { number: 123 }, artifact: { kind: 'files' }, releasedAt: '2030-01-01T00:00:00.000Z', ...over }, null, 2)}\n`;
  const setup = async () => {
    const ctx = await publishContext(tmp.dir, { 'conjur-cli-4.2.0.gem': 'gem bytes', 'docs/NOTES': 'notes' });
    writeFileSync(ctx.labelFile, label());
    // As the core hands it over: read-only.
    chmodSync(ctx.labelFile, 0o444);
    const dest = path.join(tmp.dir, 'out');
    return { ctx, dest, opts: { path: `${tmp.dir}/out` } };
  };

  it('copies the files and the label, all 0444; a second run to the same directory is idempotent', async () => {
    const { ctx, dest, opts } = await setup();
    await expect(directoryPublisher.publish(ctx, opts)).resolves.toMatchObject({ status: 'published', location: dest });
    for (const f of ['conjur-cli-4.2.0.gem', 'docs/NOTES', 'conjur-cli-4.2.0.release.json']) expect(mode(path.join(dest, f))).toBe(0o444);
    expect(readFileSync(path.join(dest, 'conjur-cli-4.2.0.release.json'), 'utf8')).toBe(label());
    // Root ignores 0444, so the proof that nothing is copied over the label is its inode and mtime.
    const before = statSync(path.join(dest, 'conjur-cli-4.2.0.release.json'));
    await expect(directoryPublisher.publish(ctx, opts)).resolves.toMatchObject({
      status: 'already-present',
      detail: '0 file(s) copied, release label already there',
    });
    const after = statSync(path.join(dest, 'conjur-cli-4.2.0.release.json'));
    expect([after.ino, after.mtimeMs]).toEqual([before.ino, before.mtimeMs]);
  });

  it('keeps the label an earlier attempt of the same build wrote (a resume: other release id and time)', async () => {
    const { ctx, dest, opts } = await setup();
    await directoryPublisher.publish(ctx, opts);
    chmodSync(ctx.labelFile, 0o644);
    writeFileSync(ctx.labelFile, label({ releaseId: 'rel_two', releasedAt: '2030-01-02T00:00:00.000Z' }));
    await expect(directoryPublisher.publish(ctx, opts)).resolves.toMatchObject({ status: 'already-present' });
    expect(readFileSync(path.join(dest, 'conjur-cli-4.2.0.release.json'), 'utf8')).toBe(label());
  });

  it('fails, overwriting nothing, when the directory holds the label of another build', async () => {
    const { ctx, dest, opts } = await setup();
    await directoryPublisher.publish(ctx, opts);
    const other = label({ build: { number: 99 } });
    const labelTo = path.join(dest, 'conjur-cli-4.2.0.release.json');
    chmodSync(labelTo, 0o644);
    writeFileSync(labelTo, other);
    chmodSync(labelTo, 0o444);
    await expect(directoryPublisher.publish(ctx, opts)).rejects.toMatchObject({
      code: ErrorCode.DestinationConflict,
      message: expect.stringContaining('release label of another build'),
    });
    expect(readFileSync(labelTo, 'utf8')).toBe(other);
  });

  it('fails, overwriting nothing, when a file is there with another digest', async () => {
    const { ctx, dest, opts } = await setup();
    await directoryPublisher.publish(ctx, opts);
    const gem = path.join(dest, 'conjur-cli-4.2.0.gem');
    chmodSync(gem, 0o644);
    writeFileSync(gem, 'other bytes');
    await expect(directoryPublisher.publish(ctx, opts)).rejects.toMatchObject({ code: ErrorCode.DestinationConflict });
    expect(readFileSync(gem, 'utf8')).toBe('other bytes');
  });

  // Modes stop writes only for a non-root user: the built publisher run twice as `nobody`.
  const asNobody = process.getuid?.() === 0 && existsSync('/usr/sbin/runuser') ? it : it.skip;
  asNobody('a second run as a non-root user finds the 0444 label and succeeds (no EACCES)', async () => {
    const { ctx, dest } = await setup();
    chownSync(tmp.dir, 65534, 65534);
    const script = `
      const { directoryPublisher } = await import(${JSON.stringify(path.join(repoRoot, 'dist/publishers/directory.js'))});
      const ctx = JSON.parse(process.argv[1]);
      const results = [];
      for (let i = 0; i < 2; i++) results.push(await directoryPublisher.publish(ctx, { path: ctx.dest }));
      console.log(JSON.stringify(results.map((r) => r.status)));`;
    const json = JSON.stringify({
      project: ctx.project,
      version: ctx.version,
      artifact: ctx.artifact,
      dir: ctx.dir,
      labelFile: ctx.labelFile,
      dest,
    });
    const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(
        '/usr/sbin/runuser',
        ['-u', 'nobody', '--', process.execPath, '--input-type=module', '-e', script, json],
        (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr }),
      ),
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(['published', 'already-present']);
    expect(statSync(path.join(dest, 'conjur-cli-4.2.0.release.json')).uid).toBe(65534);
  });
});

import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { directoryPublisher } from '../../publishers/directory.js';
import type { YankContext } from '../../src/publishing/types.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

describe('the directory yank: files into yanked/, never through a symlink', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  beforeEach(() => (tmp = makeTmpDir()));
  afterEach(() => tmp.cleanup());

  /** Publishes with the real publisher, as a release did, and returns the yank context for it. */
  const published = async (): Promise<{
    ctx: TestContext;
    dest: string;
    opts: { path: string };
    yank: (over?: Partial<YankContext>) => YankContext;
  }> => {
    const ctx = await publishContext(tmp.dir, { 'conjur-cli-4.2.0.gem': 'gem bytes', 'docs/NOTES': 'notes' });
    const opts = { path: `${tmp.dir}/out/{project}/{version}` };
    const result = await directoryPublisher.publish(ctx, opts);
    const dest = path.join(tmp.dir, 'out', 'conjur-cli', '4.2.0');
    const yank = (over: Partial<YankContext> = {}): YankContext => ({
      project: 'conjur-cli',
      version: '4.2.0',
      yankId: 'yank_test',
      reason: 'broken',
      published: { version: '4.2.0', artifact: ctx.artifact, location: result.location },
      dryRun: false,
      credentials: {},
      redact: ctx.redact,
      log: ctx.log,
      signal: ctx.signal,
      tmpDir: ctx.tmpDir,
      progress: () => undefined,
      ...over,
    });
    return { ctx, dest, opts, yank };
  };

  it('a yanked/ swapped for a symlink is refused: nothing moves out of the directory', async () => {
    const { dest, opts, yank } = await published();
    const elsewhere = path.join(tmp.dir, 'elsewhere');
    mkdirSync(elsewhere);
    symlinkSync(elsewhere, path.join(dest, 'yanked'));
    await expect(directoryPublisher.yank!(yank(), opts)).rejects.toMatchObject({ code: 'DESTINATION_CONFLICT' });
    expect(readFileSync(path.join(dest, 'conjur-cli-4.2.0.gem'), 'utf8')).toBe('gem bytes');
    expect(existsSync(path.join(elsewhere, 'conjur-cli-4.2.0.gem'))).toBe(false);
  });

  it('a file swapped for a symlink to another file with the same bytes is refused, not followed', async () => {
    const { dest, opts, yank } = await published();
    const outside = path.join(tmp.dir, 'outside.gem');
    writeFileSync(outside, 'gem bytes');
    rmSync(path.join(dest, 'conjur-cli-4.2.0.gem'), { force: true });
    symlinkSync(outside, path.join(dest, 'conjur-cli-4.2.0.gem'));
    await expect(directoryPublisher.yank!(yank(), opts)).rejects.toMatchObject({ code: 'DESTINATION_CONFLICT' });
    expect(existsSync(path.join(dest, 'yanked', 'conjur-cli-4.2.0.gem'))).toBe(false);
    expect(readFileSync(outside, 'utf8')).toBe('gem bytes');
  });

  it('a sub-directory swapped for a symlink is refused', async () => {
    const { dest, opts, yank } = await published();
    const elsewhere = path.join(tmp.dir, 'docs-elsewhere');
    mkdirSync(elsewhere);
    writeFileSync(path.join(elsewhere, 'NOTES'), 'notes');
    rmSync(path.join(dest, 'docs'), { recursive: true, force: true });
    symlinkSync(elsewhere, path.join(dest, 'docs'));
    await expect(directoryPublisher.yank!(yank(), opts)).rejects.toMatchObject({ code: 'DESTINATION_CONFLICT' });
    expect(readFileSync(path.join(elsewhere, 'NOTES'), 'utf8')).toBe('notes');
  });

  it('a file found with other bytes than were published is left alone', async () => {
    const { dest, opts, yank } = await published();
    rmSync(path.join(dest, 'conjur-cli-4.2.0.gem'), { force: true });
    writeFileSync(path.join(dest, 'conjur-cli-4.2.0.gem'), 'someone else');
    await expect(directoryPublisher.yank!(yank(), opts)).rejects.toMatchObject({
      code: 'DESTINATION_CONFLICT',
      message: expect.stringContaining('left alone'),
    });
    expect(readFileSync(path.join(dest, 'conjur-cli-4.2.0.gem'), 'utf8')).toBe('someone else');
  });

  it('finishes a move cut short (a file in both places) and reads it back', async () => {
    const { dest, opts, yank } = await published();
    mkdirSync(path.join(dest, 'yanked'));
    writeFileSync(path.join(dest, 'yanked', 'conjur-cli-4.2.0.gem'), 'gem bytes');
    await expect(directoryPublisher.yank!(yank(), opts)).resolves.toMatchObject({ status: 'yanked' });
    expect(existsSync(path.join(dest, 'conjur-cli-4.2.0.gem'))).toBe(false);
    expect(readFileSync(path.join(dest, 'yanked', 'docs', 'NOTES'), 'utf8')).toBe('notes');
    expect(JSON.parse(readFileSync(path.join(dest, 'yanked', 'docs', 'NOTES.yank.json'), 'utf8'))).toMatchObject({
      reason: 'broken',
      file: 'docs/NOTES',
    });
  });
});

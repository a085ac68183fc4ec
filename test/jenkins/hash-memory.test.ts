import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

const GIB = 1024 ** 3;
const LIMIT_KIB = 200 * 1024;

/** sha256 of `size` zero bytes, computed here without reading any file (independent of the code under test). */
function zerosSha256(size: number): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  for (let done = 0; done < size; done += chunk.length) hash.update(chunk);
  return hash.digest('hex');
}

describe('a 1 GiB staged artifact', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());

  it('is verified with its sha256 while the process memory stays flat (peak RSS < 200 MB)', async () => {
    const built = path.join(repoRoot, 'dist/src/staging/verify-staged.js');
    const sources = ['hash.ts', 'scan.ts', 'verify-staged.ts'].map((f) => statSync(path.join(repoRoot, 'src/staging', f)).mtimeMs);
    if (!existsSync(built) || statSync(built).mtimeMs < Math.max(...sources)) {
      throw new Error('dist/ is missing or older than src/staging: run `npm run build` first (npm test does it)');
    }
    const dir = path.join(tmp.dir, 'staging', 'big', '1.0.0');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'big-1.0.0.iso');
    writeFileSync(file, '');
    truncateSync(file, GIB); // sparse: 1 GiB to read, almost nothing on disk
    expect(statSync(file).size).toBe(GIB);
    const expected = zerosSha256(GIB);

    const { stdout } = await new Promise<{ stdout: string }>((resolve, reject) => {
      execFile(
        process.execPath,
        [path.join(repoRoot, 'test/fixtures/jenkins/hash-staged.mjs'), repoRoot, dir, 'big-1.0.0.iso', expected],
        { timeout: 170_000, env: { PATH: process.env.PATH } },
        (err, out, errOut) => (err ? reject(new Error(`${err.message}\n${errOut}`)) : resolve({ stdout: out })),
      );
    });
    const result = JSON.parse(stdout) as { files: { path: string; sha256: string; size: number }[]; vmHwmKiB: number; vmHwmKiBBefore: number };
    expect(result.files).toEqual([{ path: 'big-1.0.0.iso', sha256: expected, size: GIB }]);
    expect(result.vmHwmKiB).toBeGreaterThan(0);
    expect(result.vmHwmKiB).toBeLessThan(LIMIT_KIB);
  }, 180_000);
});

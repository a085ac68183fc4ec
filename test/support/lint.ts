import { execFile } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from './cli.js';

/** Runs the repository's eslint on `source` as if it were `file` (the boundary lint decides by path). */
export function lint(file: string, source: string): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = execFile(
      path.join(repoRoot, 'node_modules', '.bin', 'eslint'),
      ['--stdin', '--stdin-filename', file],
      { cwd: repoRoot, timeout: 120_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out: stdout + stderr });
      },
    );
    child.stdin?.end(source);
  });
}

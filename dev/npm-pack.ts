/** DEVELOPMENT helper: a real npm package tarball, made by `npm pack`, for tests and `npm run demo`. */
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface PackedPackage {
  /** The tarball's path. */
  file: string;
  bytes: Buffer;
  /** What npm records as `dist.integrity`: sha512 of the tarball, base64. */
  integrity: string;
}

/**
 * Writes a one-file package under `dir` (more package.json fields in `manifest`) and packs it there. npm runs with `dir` as its HOME, so no
 * user config or cache outside it is read; a failure throws with npm's own words.
 */
export async function npmPack(
  dir: string,
  pkg: { name: string; version: string; body?: string; manifest?: Record<string, unknown> },
): Promise<PackedPackage> {
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    path.join(dir, 'package.json'),
    JSON.stringify({ name: pkg.name, version: pkg.version, main: 'index.js', license: 'MIT', ...pkg.manifest }, null, 2),
  );
  writeFileSync(path.join(dir, 'index.js'), pkg.body ?? 'module.exports = 1;\n');
  const env = {
    PATH: process.env.PATH ?? '',
    HOME: dir,
    npm_config_update_notifier: 'false',
    npm_config_fund: 'false',
    npm_config_audit: 'false',
  };
  const stdout = await new Promise<string>((resolve, reject) => {
    execFile('npm', ['pack', '--json', '--loglevel=error'], { cwd: dir, env, encoding: 'utf8', timeout: 120_000 }, (err, out, stderr) => {
      if (err) reject(new Error(`npm pack failed in ${dir} (${err.code ?? err.signal}): ${stderr.trim() || out.trim() || err.message}`));
      else resolve(out);
    });
  });
  const [info] = JSON.parse(stdout) as { filename: string; integrity: string }[];
  if (!info) throw new Error(`npm pack printed no package: ${stdout.slice(0, 200)}`);
  const file = path.join(dir, info.filename);
  return { file, bytes: readFileSync(file), integrity: info.integrity };
}

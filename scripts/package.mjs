#!/usr/bin/env node
// `npm run package [-- --out DIR]`: the tarball the release machine installs (README "Run it for real").
//
// Built in a directory of its own, not from the working tree's dist/: a fresh compile holds exactly the
// current sources (no stale output of a deleted file, no dev/ stand-ins), without source maps (they
// would point at sources the package does not ship). What goes in is package.json's `files` allow-list;
// the package's own package.json has no devDependencies and no scripts (a `prepare` would run tsc on the
// release machine), and its npm-shrinkwrap.json is package-lock.json without the dev entries, so
// `npm ci --omit=dev` there installs the runtime tree at exactly the tested versions.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { joinNotify } from './notify-single-file.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({ options: { out: { type: 'string', default: root } } });
const out = path.resolve(values.out);
const readJson = (file) => JSON.parse(readFileSync(path.join(root, file), 'utf8'));
const writeJson = (file, value) => writeFileSync(file, `${JSON.stringify(value, null, 2)}\n`);

const manifest = readJson('package.json');
const lock = readJson('package-lock.json');
if (!Array.isArray(manifest.files)) throw new Error('package.json has no `files` allow-list: the package would hold the whole repository');

const work = mkdtempSync(path.join(tmpdir(), 'release-bot-package-'));
try {
  const stage = path.join(work, 'package');
  mkdirSync(stage);

  // The product's code only: the build's sources minus the development stand-ins (wherever they live).
  const tsconfig = path.join(work, 'tsconfig.json');
  writeJson(tsconfig, {
    extends: path.join(root, 'tsconfig.build.json'),
    compilerOptions: {
      rootDir: root,
      outDir: path.join(stage, 'dist'),
      sourceMap: false,
      declaration: false,
      incremental: false,
      typeRoots: [path.join(root, 'node_modules/@types')],
    },
    include: ['src', 'app', 'handlers', 'publishers'].map((d) => path.join(root, d)),
    exclude: ['src/dev', 'dev', 'node_modules'].map((d) => path.join(root, d)),
  });
  process.stderr.write('== compiling (tsc, no source maps)\n');
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-p', tsconfig], { cwd: root, stdio: 'inherit' });
  // The notify Jenkins agents run alone: its modules joined into dist/handlers/cli/release-bot-notify.mjs.
  joinNotify(path.join(stage, 'dist'));

  // Everything else the allow-list names, as it is in the repository, and what npm always packs.
  const always = readdirSync(root).filter((name) => /^(README|LICEN[CS]E|NOTICE)(\.|$)/i.test(name));
  for (const entry of [...manifest.files, ...always]) {
    if (entry.startsWith('!') || entry === 'dist' || entry.startsWith('dist/')) continue;
    const from = path.join(root, entry);
    if (existsSync(from)) cpSync(from, path.join(stage, entry), { recursive: true });
  }

  const { devDependencies: _dev, scripts: _scripts, ...runtime } = manifest;
  writeJson(path.join(stage, 'package.json'), runtime);
  const packages = Object.fromEntries(
    Object.entries(lock.packages)
      .filter(([, entry]) => !entry.dev)
      .map(([key, entry]) => {
        if (key !== '') return [key, entry];
        const { devDependencies: _rootDev, ...rootEntry } = entry;
        return [key, rootEntry];
      }),
  );
  writeJson(path.join(stage, 'npm-shrinkwrap.json'), { ...lock, packages });

  mkdirSync(out, { recursive: true });
  process.stderr.write('== npm pack\n');
  const packed = JSON.parse(
    execFileSync('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', out], { cwd: stage, encoding: 'utf8' }),
  );
  const tarball = path.join(out, packed[0].filename);
  process.stderr.write(`== ${packed[0].entryCount} files, ${packed[0].size} bytes\n`);
  process.stdout.write(`${tarball}\n`);
} finally {
  rmSync(work, { recursive: true, force: true });
}

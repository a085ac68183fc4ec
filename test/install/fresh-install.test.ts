import { execFile, type ExecFileOptions } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * The release machine's install, as README "Run it for real" does it: `npm run package`, the tarball
 * unpacked into an empty directory, `npm ci --omit=dev` there, then the CLI run from that directory.
 * Slow (a compile, and better-sqlite3 compiled from source: minutes on a busy machine), so it runs only
 * when asked: `.ci/run` sets RELEASE_BOT_INSTALL_TEST=1 and runs this file as a step of its own.
 */
const enabled = process.env.RELEASE_BOT_INSTALL_TEST === '1';
const MINUTES = 60_000;

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: ExecFileOptions & { env: NodeJS.ProcessEnv }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { maxBuffer: 64 << 20, ...options }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** Every file under `dir`, relative, with `/` separators. */
function walk(dir: string, prefix = ''): string[] {
  return readdirSync(path.join(dir, prefix), { withFileTypes: true }).flatMap((e) => {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    return e.isDirectory() ? walk(dir, rel) : [rel];
  });
}

/** The package directories under node_modules/ (scoped ones as @scope/name), at any depth. */
function installedPackages(nodeModules: string): string[] {
  if (!existsSync(nodeModules)) return [];
  return readdirSync(nodeModules)
    .filter((name) => !name.startsWith('.'))
    .flatMap((name) => (name.startsWith('@') ? readdirSync(path.join(nodeModules, name)).map((sub) => `${name}/${sub}`) : [name]))
    .flatMap((pkg) => [pkg, ...installedPackages(path.join(nodeModules, pkg, 'node_modules'))]);
}

(enabled ? describe : describe.skip)('the package tarball, installed with --omit=dev into an empty directory', () => {
  // Made in beforeAll: a skipped run (every run without the flag) must leave no directory behind.
  let tmp: ReturnType<typeof makeTmpDir> = { dir: '', cleanup: () => undefined };
  let prefix = '';
  const manifest = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
    version: string;
    devDependencies: Record<string, string>;
  };
  const lock = JSON.parse(readFileSync(path.join(repoRoot, 'package-lock.json'), 'utf8')) as {
    packages: Record<string, { dev?: boolean }>;
  };
  let entries: string[] = [];
  /** The CLI as the operator runs it: from the install, in a directory of its own, nothing else to resolve modules from. */
  const releaseBot = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    run(process.execPath, [path.join(prefix, 'bin', 'release-bot.js'), ...args], {
      cwd: tmp.dir,
      env: { PATH: process.env.PATH, NODE_PATH: '', ...env },
      timeout: 5 * MINUTES,
    });

  beforeAll(async () => {
    tmp = makeTmpDir('release-bot-install-');
    prefix = path.join(tmp.dir, 'opt', 'release-bot');
    const packed = await run(process.execPath, [path.join(repoRoot, 'scripts', 'package.mjs'), '--out', tmp.dir], {
      cwd: repoRoot,
      env: process.env,
      timeout: 15 * MINUTES,
    });
    if (packed.code !== 0) throw new Error(`npm run package failed (${packed.code}):\n${packed.stderr}`);
    const tarball = packed.stdout.trim();
    entries = (await run('tar', ['-tzf', tarball], { env: process.env })).stdout.split('\n').filter(Boolean);
    mkdirSync(prefix, { recursive: true });
    const unpacked = await run('tar', ['-xzf', tarball, '-C', prefix, '--strip-components=1'], { env: process.env });
    if (unpacked.code !== 0) throw new Error(`tar failed: ${unpacked.stderr}`);
    // The npm cache `npm ci` filled for the checkout first; the registry only for what it lacks.
    const installed = await run('npm', ['ci', '--omit=dev', '--prefer-offline', '--no-audit', '--no-fund'], {
      cwd: prefix,
      env: process.env,
      timeout: 45 * MINUTES,
    });
    if (installed.code !== 0) throw new Error(`npm ci --omit=dev failed (${installed.code}):\n${installed.stdout}\n${installed.stderr}`);
  }, 60 * MINUTES);

  afterAll(() => tmp.cleanup());

  /** A small valid configuration: one project, a directory destination. */
  const yaml = (stagingDir: string) => `channel: C0RELEASES
staging_dir: ${stagingDir}
identity: { strategy: email-localpart, email_domains: [example.com] }
projects:
  conjur-cli:
    authorized_group: release/conjur-cli
    jenkins_job: conjur-cli
    artifact: files
    destinations:
      - name: archive
        type: directory
        path: ${tmp.dir}/published/{project}/{version}
`;
  const env = (configFile: string) => ({
    CONJUR_APPLIANCE_URL: 'https://conjur.example.com',
    CONJUR_ACCOUNT: 'acme',
    CONJUR_AUTHN_LOGIN: 'host/release-bot',
    CONJUR_AUTHN_API_KEY: 'k'.repeat(55),
    RELEASE_BOT_CONFIG: configFile,
    RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
  });

  it('the tarball holds the built code, bin/, deploy/ and the documentation, and nothing else', () => {
    expect(entries.length).toBeGreaterThan(50);
    const outside = entries.filter(
      (e) =>
        !/^package\/(package\.json|npm-shrinkwrap\.json|README\.md|LICENSE|\.env\.example|releases\.example\.yml|bin\/[^/]+\.js|deploy\/.+|dist\/(src|app|handlers|publishers)\/.+\.m?js)$/.test(
          e,
        ),
    );
    expect(outside).toEqual([]);
    expect(entries).toContain('package/bin/release-bot.js');
    expect(entries).toContain('package/dist/handlers/cli/main.js');
    expect(entries).toContain('package/dist/app/create.js');
    expect(entries).toContain('package/deploy/systemd/release-bot.service');
    expect(entries).toContain('package/dist/handlers/cli/release-bot-notify.mjs');
    // The development stand-ins and demo, wherever they live, never ship.
    expect(entries.filter((e) => /\/dev\/|demo|stand-in|verdaccio/.test(e))).toEqual([]);
  });

  it('no source map, and no reference to one (they would point at sources the package does not ship)', () => {
    const code = walk(path.join(prefix, 'dist')).filter((f) => /\.m?js$/.test(f));
    expect(code.length).toBeGreaterThan(50);
    expect(code.filter((f) => readFileSync(path.join(prefix, 'dist', f), 'utf8').includes('sourceMappingURL'))).toEqual([]);
  });

  it('installs the runtime dependencies only: no devDependency, nothing the lockfile marks dev', () => {
    const packages = installedPackages(path.join(prefix, 'node_modules'));
    expect(packages).toEqual(expect.arrayContaining(['better-sqlite3', '@slack/bolt', 'commander', 'zod']));
    const names = (dev: boolean) =>
      new Set(
        Object.entries(lock.packages)
          .filter(([key, e]) => key.startsWith('node_modules/') && Boolean(e.dev) === dev)
          .map(([key]) => key.slice(key.lastIndexOf('node_modules/') + 'node_modules/'.length)),
      );
    const runtime = names(false);
    expect(packages.filter((p) => !runtime.has(p))).toEqual([]);
    // A devDependency of ours is installed only where a runtime package needs it too (@slack/bolt
    // depends on @types/express); the tools never are.
    expect(packages.filter((p) => p in manifest.devDependencies && !runtime.has(p))).toEqual([]);
    expect(
      packages.filter((p) =>
        ['typescript', 'jest', 'eslint', 'verdaccio', 'nock', '@swc/core', '@swc/jest', 'typescript-eslint'].includes(p),
      ),
    ).toEqual([]);
    expect(names(true).size).toBeGreaterThan(500);
    // And no test or source file of the product outside node_modules.
    const own = walk(prefix).filter((f) => !f.startsWith('node_modules/'));
    expect(
      own.filter((f) =>
        /^(src|test|bench|dev|scripts)\/|(^|\/)(test|dev|__tests__)\/|\.(ts|map)$|(^|\/)(jest|eslint|tsconfig)[^/]*$/.test(f),
      ),
    ).toEqual([]);
  });

  it('is where the systemd unit looks: its ExecStart script exists under its WorkingDirectory', () => {
    const unit = readFileSync(path.join(prefix, 'deploy', 'systemd', 'release-bot.service'), 'utf8');
    const workdir = /^WorkingDirectory=(\S+)$/m.exec(unit)?.[1] ?? '';
    const [, script = '', ...args] = (/^ExecStart=(.+)$/m.exec(unit)?.[1] ?? '').trim().split(/\s+/);
    // README installs into /opt/release-bot, this test into <tmp>/opt/release-bot.
    expect(workdir).toBe('/opt/release-bot');
    expect(args).toEqual(['serve']);
    expect(script.startsWith(`${workdir}/`)).toBe(true);
    expect(existsSync(path.join(prefix, path.posix.relative(workdir, script)))).toBe(true);
  });

  it('release-bot --version prints the packaged version', async () => {
    const r = await releaseBot(['--version']);
    expect(r).toMatchObject({ code: 0, stdout: `${manifest.version}\n` });
  });

  describe('release-bot check-config', () => {
    it('passes a small valid configuration (exit 0)', async () => {
      mkdirSync(path.join(tmp.dir, 'staging'), { recursive: true });
      writeFileSync(path.join(tmp.dir, 'releases.yml'), yaml(path.join(tmp.dir, 'staging')));
      const r = await releaseBot(['check-config'], env(path.join(tmp.dir, 'releases.yml')));
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^configuration OK: 1 project\(s\) in /);
    });

    it('lists every problem of a broken one and exits 78 (EX_CONFIG)', async () => {
      writeFileSync(path.join(tmp.dir, 'staging-file'), 'a file, not a directory');
      writeFileSync(path.join(tmp.dir, 'broken.yml'), yaml(path.join(tmp.dir, 'staging-file')));
      const r = await releaseBot(['check-config'], {
        ...env(path.join(tmp.dir, 'broken.yml')),
        CONJUR_APPLIANCE_URL: 'htps://conjur.example.com',
        JENKINS_JWT_SECRET: 'secret',
      });
      expect(r.code).toBe(78);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/CONJUR_APPLIANCE_URL/);
      expect(r.stderr).toMatch(/JENKINS_JWT_SECRET/);
      expect(r.stderr).toMatch(/staging_dir: .*staging-file is a file/);
    });
  });

  it('stages a build and verifies the audit chain from the install: the database (native better-sqlite3) works', async () => {
    const staging = path.join(tmp.dir, 'staging-run');
    mkdirSync(path.join(staging, 'conjur-cli', '1.0.0'), { recursive: true });
    writeFileSync(path.join(staging, 'conjur-cli', '1.0.0', 'conjur-cli-1.0.0.gem'), 'gem bytes');
    writeFileSync(path.join(tmp.dir, 'run.yml'), yaml(staging));
    const runEnv = { ...env(path.join(tmp.dir, 'run.yml')), RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'run-data') };
    const staged = await releaseBot(['stage', 'conjur-cli', '1.0.0'], runEnv);
    expect(staged.stdout).toMatch(/^staged: conjur-cli 1\.0\.0\n/);
    expect(staged.code).toBe(0);
    const verified = await releaseBot(['audit', 'verify'], runEnv);
    expect(verified.stdout).toMatch(/^audit chain intact: 1 entries/);
    expect(verified.code).toBe(0);
  });

  it('release-bot notify --help answers from the install', async () => {
    const r = await releaseBot(['notify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: release-bot notify \[options\] \[files\.\.\.\]/);
    expect(r.stdout).toContain('--url <url>');
    // The single file for Jenkins agents, from the same install.
    const alone = await run(process.execPath, [path.join(prefix, 'dist', 'handlers', 'cli', 'release-bot-notify.mjs'), '--help'], {
      cwd: tmp.dir,
      env: { PATH: process.env.PATH, NODE_PATH: '' },
      timeout: 5 * MINUTES,
    });
    expect(alone.code).toBe(0);
    expect(alone.stdout).toContain('--url <url>');
  });
});

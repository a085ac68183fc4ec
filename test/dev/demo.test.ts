import { jest } from '@jest/globals';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runCli } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

/** `npm run demo` is `npm run build:dev && node dist-dev/demo.js`; `npm test` has built dist/ and dist-dev/ already. */
function runDemo(outDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [path.join(repoRoot, 'dist-dev/demo.js'), '--output', outDir],
      { cwd: repoRoot, env: { PATH: process.env.PATH }, timeout: 180_000 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

// The demo starts five processes and a real registry; on a busy machine it takes over a minute.
jest.setTimeout(300_000);

describe('npm run demo', () => {
  const tmp = makeTmpDir('release-bot-demo-test-');
  afterAll(() => tmp.cleanup());

  it('runs the whole flow on loopback and exits 0 with the package in the registry', async () => {
    requireBinary('npm', 'npm');
    const out = path.join(tmp.dir, 'out');
    const r = await runDemo(out);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    // Staged by a signed Jenkins report, announced in the channel.
    expect(r.stdout).toMatch(/^ {3}staged: hello-cli 1\.0\.0$/m);
    expect(r.stdout).toMatch(/^ {3}\| hello-cli 1\.0\.0 is ready to release: build #42/m);
    // The outsider is refused privately, naming the group; the member's release runs.
    expect(r.stdout).toContain(
      'only mallory sees (ephemeral): Not authorized: mallory is not a member of the Conjur group release/hello-cli',
    );
    expect(r.stdout).toMatch(/only alice sees \(ephemeral\): hello-cli 1\.0\.0: published; audit entry aud_/);
    expect(r.stdout).toMatch(/^ {3}\| \(earlier\) Releasing hello-cli 1\.0\.0 \(publishing\), requested by alice$/m);
    expect(r.stdout).toMatch(/^ {3}\| Released hello-cli 1\.0\.0 \(published\)$/m);
    expect(r.stdout).toMatch(/^ {3}\| {5}thread: npm \[npm\]: published in/m);
    expect(r.stdout).toMatch(/audit chain intact: 4 entries/);
    expect(r.stdout).toMatch(/denied by mallory \(NOT_AUTHORIZED\)/);
    // The figure the exit code rests on: the registry's integrity is the staged tarball's.
    const registry = /registry: (sha512-\S+)/.exec(r.stdout)?.[1];
    expect(registry).toBeDefined();
    expect(r.stdout).toContain(`staged:   ${registry}`);
    expect(r.stdout).toContain('demo passed');

    // Block Kit, as Block Kit Builder takes it.
    const files = readdirSync(path.join(out, 'blocks'));
    expect(files).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/-channel-released-hello-cli/),
        expect.stringMatching(/-progress-releasing/),
        expect.stringMatching(/-ephemeral-not-authorized/),
      ]),
    );
    for (const f of files) {
      const doc = JSON.parse(readFileSync(path.join(out, 'blocks', f), 'utf8')) as { blocks: { type: string }[] };
      expect(Object.keys(doc)).toEqual(['blocks']);
      expect(doc.blocks.length).toBeGreaterThan(0);
      for (const b of doc.blocks) expect(typeof b.type).toBe('string');
    }
    // The bot's own log is JSON, one object a line, and never holds the demo's Slack bot token.
    const log = readFileSync(path.join(out, 'serve.log'), 'utf8').trim().split('\n');
    for (const line of log) expect(() => JSON.parse(line)).not.toThrow();
    expect(log.join('\n')).not.toMatch(/xoxb-demo-[0-9a-f]/);
  });

  it('release-bot serve with a missing configuration lists every problem and exits 78', async () => {
    const r = await runCli(['serve'], { RELEASE_BOT_CONFIG: path.join(tmp.dir, 'nowhere.yml'), PORT: '0' }, tmp.dir);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('the configuration has 4 problem(s)');
    for (const key of [
      'CONJUR_APPLIANCE_URL: is not set',
      'CONJUR_ACCOUNT: is not set',
      'CONJUR_AUTHN_LOGIN: is not set',
      'RELEASE_BOT_CONFIG:',
    ])
      expect(r.stderr).toContain(key);
    expect(r.stderr).toContain('see .env.example');
  });
});

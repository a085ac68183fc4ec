import { spawn } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { execPublisher } from '../../publishers/exec.js';
import { ErrorCode } from '../../src/errors.js';
import { INHERITED_ENV } from '../../src/exec.js';
import { repoRoot } from '../support/cli.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import type { DestinationSpec } from '../support/projects-file.js';
import { publishContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

const probe = path.join(repoRoot, 'test/fixtures/cli/exec-probe.sh');
const hang = path.join(repoRoot, 'test/fixtures/cli/exec-hang.sh');

// Canaries: the bot's own secrets, in its environment; none may reach a publishing script.
const BOT_ENV = {
  CONJUR_AUTHN_API_KEY: `apikey-canary-${'z'.repeat(40)}`,
  SLACK_BOT_TOKEN: 'xoxb-canary-exec-0000-bot-token',
  JENKINS_JWT_SECRET: 'jwt-secret-canary-exec-0123456789abcdef',
  SOME_OTHER_VARIABLE: 'other-canary-exec-value',
};
// URL-encoding and base64 change these: the script prints every form.
const TOKEN_A = 'exec-canary/7f+3=a b';
const TOKEN_B = 'exec-canary-b-9d8c7b6a';

/**
 * Whether a process still runs. A zombie has ended: it only waits for its parent — here often init,
 * once the bot that started it died — to collect its exit status, and some inits are slow at that.
 */
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^[ZX]$/.test(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
  } catch {
    return false;
  }
};

describe('the exec publisher', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let f: CoreFixture;
  const saved: Record<string, string | undefined> = {};
  beforeEach(() => {
    tmp = makeTmpDir();
    for (const [k, v] of Object.entries(BOT_ENV)) {
      saved[k] = process.env[k];
      process.env[k] = v;
    }
  });
  afterEach(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    f?.close();
    tmp.cleanup();
  });

  const release = async (destinations: DestinationSpec[]) => {
    f = makeCore(
      tmp.dir,
      appProject(destinations),
      memoryConjur({ 'release/app': ['alice'] }, { 'release/a/token': TOKEN_A, 'release/b/token': TOKEN_B }),
    );
    f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': 'bytes' });
    await f.core.stage({ project: 'app', version: '1.0.0', build: { number: 77 }, reportedBy: 'test', actor: { via: 'test' } });
    return f.core.release('app', '1.0.0', { login: 'alice', via: 'cli' });
  };

  it("gives the script only the allowlisted environment and its own destination's credentials; {build} expands; shell syntax stays literal", async () => {
    const pwned = path.join(tmp.dir, 'pwned');
    const hostile = [`$(touch ${pwned}); rm -rf /`, `\`touch ${pwned}\``, `a;b|c&&d > ${pwned}`, '\'quoted\' "double" \\back'];
    const argv = ['{project}', '{version}', '{build}', 'v{version}-build.{build}', ...hostile];
    const summary = await release([
      { name: 'a', type: 'exec', command: [probe], env: { PROBE_OUT: `${tmp.dir}/a` }, credentials: { TOKEN: 'release/a/token' } },
      { name: 'b', type: 'exec', command: [probe, ...argv], env: { PROBE_OUT: `${tmp.dir}/b` }, credentials: { TOKEN: 'release/b/token' } },
    ]);
    expect(summary.state).toBe('published');

    const envOf = (name: string) =>
      Object.fromEntries(
        readFileSync(path.join(tmp.dir, `${name}.env`), 'utf8')
          .trim()
          .split('\n')
          .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
      );
    const allowed = new Set<string>([
      ...INHERITED_ENV,
      'HOME',
      'PROBE_OUT',
      'TOKEN',
      'TOKEN_FILE',
      'RELEASE_PROJECT',
      'RELEASE_VERSION',
      'RELEASE_DIR',
      'RELEASE_LABEL',
      'PWD',
      'OLDPWD',
      'SHLVL',
      '_',
    ]);
    for (const [name, own, other] of [
      ['a', TOKEN_A, TOKEN_B],
      ['b', TOKEN_B, TOKEN_A],
    ] as const) {
      const env = envOf(name);
      expect(Object.keys(env).filter((k) => !allowed.has(k))).toEqual([]);
      expect(env.TOKEN).toBe(own);
      // Every credential is also a file (removed once the script ended), named by <NAME>_FILE.
      expect(env.TOKEN_FILE).toMatch(/\/credentials-[^/]+\/TOKEN$/);
      expect(existsSync(env.TOKEN_FILE as string)).toBe(false);
      const text = readFileSync(path.join(tmp.dir, `${name}.env`), 'utf8');
      expect(text).not.toContain(other);
      for (const canary of Object.values(BOT_ENV)) expect(text).not.toContain(canary);
    }
    expect(envOf('a')).toMatchObject({ RELEASE_PROJECT: 'app', RELEASE_VERSION: '1.0.0', PATH: process.env.PATH });

    // Each argument arrives as one argv element, exactly as configured: nothing ran.
    expect(readFileSync(path.join(tmp.dir, 'b.args'), 'utf8').split('\n').slice(0, -1)).toEqual([
      'app',
      '1.0.0',
      '77',
      'v1.0.0-build.77',
      ...hostile,
    ]);
    expect(existsSync(pwned)).toBe(false);
    expect(existsSync('/bin/sh')).toBe(true); // rm -rf / did not run either
  });

  it('the destination timeout kills the script and its process group; the result is a coded timeout failure', async () => {
    const summary = await release([
      { name: 'slow', type: 'exec', command: [hang], env: { PROBE_OUT: `${tmp.dir}/h` }, timeout_seconds: 1, retries: 0 },
    ]);
    expect(summary.state).toBe('failed');
    expect(summary.destinations[0]).toMatchObject({ name: 'slow', status: 'failed', error: { code: ErrorCode.Timeout } });
    const pids = ['pid', 'bg'].map((x) => Number(readFileSync(path.join(tmp.dir, `h.${x}`), 'utf8')));
    // SIGTERM goes to the whole group at the timeout; give the kernel a moment to reap them.
    const deadline = Date.now() + 5_000;
    while (pids.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(pids.filter(alive)).toEqual([]);
    expect(existsSync(path.join(tmp.dir, 'h.late'))).toBe(false);
  });

  it('redacts the credential from what the script prints: plain, base64 and URL-encoded, in the result, the log and a failure', async () => {
    const ctx = await publishContext(tmp.dir, { 'app-1.0.0.tgz': 'bytes' }, { credentials: { TOKEN: TOKEN_A } });
    const forms = [TOKEN_A, Buffer.from(TOKEN_A).toString('base64'), encodeURIComponent(TOKEN_A)];
    const ok = await execPublisher.publish(ctx, { command: [probe], env: { PROBE_OUT: path.join(tmp.dir, 'r') } });
    const failing = await publishContext(tmp.dir, { 'app-1.0.0.tgz': 'bytes' }, { credentials: { TOKEN: TOKEN_A } });
    const err = await execPublisher
      .publish(failing, {
        command: ['sh', '-c', `echo "$TOKEN"; printf %s "$TOKEN" | base64 >&2; echo "${encodeURIComponent(TOKEN_A)}" >&2; exit 3`],
        env: {},
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.ExecFailed });
    const everything = JSON.stringify([
      ok,
      ctx.logLines,
      ctx.progressLines,
      (err as Error).message,
      (err as { details: unknown }).details,
      failing.logLines,
    ]);
    expect(everything).toContain('[REDACTED]');
    expect(everything).toContain('token [REDACTED]');
    expect(everything).toContain('b64 [REDACTED]');
    expect(everything).toContain('url [REDACTED]');
    for (const form of forms) expect(everything).not.toContain(form);
  });

  it("a fatal signal the bot does not handle (Ctrl-C, sshd's SIGHUP) kills the script's group before the bot dies", async () => {
    const pidFile = path.join(tmp.dir, 'sleeper.pid');
    const script = `
      const { runCommand } = await import(${JSON.stringify(path.join(repoRoot, 'dist/src/exec.js'))});
      await runCommand('sh', ['-c', 'echo $$ > ${pidFile}; sleep 300'], { timeoutMs: 600000, redact: (t) => t, ownProcessGroup: true });`;
    for (const signal of ['SIGINT', 'SIGHUP'] as const) {
      rmSync(pidFile, { force: true });
      const bot = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: 'ignore' });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => bot.once('exit', (_code, sig) => resolve(sig)));
      const deadline = Date.now() + 10_000;
      // The shell creates the file (`>`) before `echo` writes the pid into it: wait for the whole line,
      // or a busy machine reads an empty file (pid 0).
      const written = () => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n');
      while (!written() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const sleeper = Number(readFileSync(pidFile, 'utf8'));
      expect(sleeper).toBeGreaterThan(1);
      expect(alive(sleeper)).toBe(true);
      bot.kill(signal);
      // The default course is kept: the bot dies of the signal.
      expect(await exited).toBe(signal);
      const gone = Date.now() + 5_000;
      while (alive(sleeper) && Date.now() < gone) await new Promise((r) => setTimeout(r, 50));
      expect(alive(sleeper)).toBe(false);
    }
  });
});

import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { exitCodes } from '../../src/errors.js';
import { repoRoot } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';
import { startBot, type Bot } from './helpers/bot.js';
import { runSingleFile, singleFile } from './helpers/notify-forms.js';
import { HS_SECRET } from './helpers/tokens.js';

const sha = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
const claimsOf = (token: string) =>
  JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as Record<string, unknown>;

/** The block of README.md that starts with `marker`, as a reader would copy it. */
function readmeBlock(marker: string): string {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```$/gm)].map((m) => m[1] as string).find((b) => b.startsWith(marker));
  if (!block) throw new Error(`README.md has no sh block starting with ${marker}`);
  return block;
}

describe('the single-file notify (dist/handlers/cli/release-bot-notify.mjs)', () => {
  it('imports nothing but node: modules', () => {
    const code = readFileSync(singleFile, 'utf8');
    const specifiers = [...code.matchAll(/\bimport\s*(?:[\w*{}\s,]+from\s*)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]/g)].map(
      (m) => m[1] ?? m[2],
    );
    expect(specifiers.length).toBeGreaterThan(3);
    expect(specifiers.filter((s) => !s?.startsWith('node:'))).toEqual([]);
    expect(code).not.toMatch(/\brequire\(/);
  });

  it("has the CLI's exit code for every error code", () => {
    const url = pathToFileURL(singleFile).href;
    const own = JSON.parse(
      execFileSync(
        process.execPath,
        [
          '--input-type=module',
          '-e',
          `const m = await import(${JSON.stringify(url)}); process.stdout.write(JSON.stringify(m.EXIT_CODES));`,
        ],
        { encoding: 'utf8' },
      ),
    ) as Record<string, number>;
    expect(own).toEqual(exitCodes);
  });

  it('runs alone: --help from a directory holding only it, with an empty NODE_PATH, and leaves nothing behind', async () => {
    const r = await runSingleFile(['--help'], {});
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Usage: release-bot-notify\.mjs \[options\] \[files\.\.\.\]/);
    for (const flag of [
      '--url <url>',
      '--project <p>',
      '--version <v>',
      '--build-number <n>',
      '--image-digest <digest>',
      '--retries <n>',
      '--json',
    ])
      expect(r.stdout).toContain(flag);
    expect(r.dirAfter).toEqual(['release-bot-notify.mjs']);
    // The Jenkinsfile example runs this file: every option it passes is one the file knows.
    const jenkinsfile = readFileSync(path.join(repoRoot, 'deploy', 'jenkins', 'Jenkinsfile.stage-for-release'), 'utf8');
    const call = /node "\$RELEASE_BOT_NOTIFY" \\\n([\s\S]*?)\n\s*'''/.exec(jenkinsfile)?.[1] ?? '';
    const passed = [...call.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]);
    expect(passed).toEqual(expect.arrayContaining(['--url', '--project', '--version', '--job', '--build-number']));
    for (const flag of passed) expect([flag, r.stdout.includes(`  ${flag} `)]).toEqual([flag, true]);
    const bad = await runSingleFile(
      ['--url', 'http://127.0.0.1:9', '--project', 'conjur-cli', '--version', '1.0.0', '--retries', 'many', 'x'],
      { JENKINS_JWT_SECRET: HS_SECRET },
    );
    expect(bad).toMatchObject({ code: 64, stdout: '' });
    expect(bad.stderr).toBe('release-bot: --retries: "many" is not a whole number [BAD_INPUT]\n');
  });
});

/**
 * What the single file signs is held to the bot's rules by the bot itself: an attacker who captures one
 * request (a proxy log, a compromised hop) can neither send another report with its token nor send it
 * twice, and the token expires in minutes.
 */
describe('a token the single file signed, captured in transit', () => {
  let bot: Bot;
  let capture: Server;
  const seen: { authorization: string; body: Buffer }[] = [];
  const workspace = makeTmpDir('release-bot-notify-workspace-');

  beforeAll(async () => {
    bot = await startBot();
    // A hop that records what passes and answers as the bot would: the request never reaches the bot.
    capture = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        seen.push({ authorization: req.headers.authorization ?? '', body: Buffer.concat(chunks) });
        res
          .writeHead(202, { 'content-type': 'application/json' })
          .end(JSON.stringify({ status: 'staged', project: 'conjur-cli', version: '21.0.0', digests: { files: [] } }));
      });
    });
    await new Promise<void>((resolve) => capture.listen(0, '127.0.0.1', () => resolve()));
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => capture.close(() => resolve()));
    await bot.stop();
    workspace.cleanup();
  });

  it('cannot carry another report, cannot be used twice, and expires within 5 minutes', async () => {
    const file = path.join(workspace.dir, 'conjur-cli-21.0.0.gem');
    writeFileSync(file, 'the built gem');
    bot.stageFiles('conjur-cli', '21.0.0', { 'conjur-cli-21.0.0.gem': 'the built gem' });
    const port = (capture.address() as { port: number }).port;
    const r = await runSingleFile(
      ['--url', `http://127.0.0.1:${port}`, '--project', 'conjur-cli', '--version', '21.0.0', '--job', 'conjur-cli', file],
      { JENKINS_JWT_SECRET: HS_SECRET },
    );
    expect(r.code).toBe(0);
    expect(seen).toHaveLength(1);
    const { authorization, body } = seen[0] as { authorization: string; body: Buffer };
    const token = authorization.replace(/^Bearer /, '');
    const claims = claimsOf(token);
    expect(claims).toMatchObject({ sub: 'conjur-cli', aud: 'release-bot', body_sha256: sha(body) });
    expect((claims.exp as number) - (claims.iat as number)).toBe(300);

    // The attacker's report: other bytes staged under the same name, the captured token.
    bot.stageFiles('conjur-cli', '21.0.0', { 'conjur-cli-21.0.0.gem': 'the attacker gem' });
    const forged = JSON.stringify({
      project: 'conjur-cli',
      version: '21.0.0',
      build: { job: 'conjur-cli' },
      artifacts: [{ path: 'conjur-cli-21.0.0.gem', sha256: sha('the attacker gem') }],
    });
    const other = await bot.post('/webhooks/jenkins', forged, { authorization });
    expect(other.status).toBe(401);
    expect(other.json).toMatchObject({ code: 'WEBHOOK_UNAUTHENTICATED' });
    expect(bot.running.app.staged.current('conjur-cli', '21.0.0')).toBeUndefined();

    // The captured request as it was: the token is good once (the bot had not seen it)...
    bot.stageFiles('conjur-cli', '21.0.0', { 'conjur-cli-21.0.0.gem': 'the built gem' });
    const once = await bot.post('/webhooks/jenkins', body, { authorization });
    expect(once.status).toBe(202);
    // ...and never again.
    const twice = await bot.post('/webhooks/jenkins', body, { authorization });
    expect(twice.status).toBe(401);
    expect(bot.running.app.staged.current('conjur-cli', '21.0.0')).toMatchObject({ reportedBy: 'jenkins:conjur-cli (jwt)' });
  });
});

/** README's curl + openssl block, run as Jenkins' `sh` step runs a script (`sh -xe`), against `serve`. */
describe('README: release-bot notify with sh, sha256sum, openssl and curl', () => {
  let bot: Bot;
  const workspace = makeTmpDir('release-bot-curl-');
  const script = readmeBlock('# release-bot notify with sh, sha256sum, openssl and curl.');
  const runScript = (env: NodeJS.ProcessEnv) =>
    new Promise<{ code: number; output: string }>((resolve) => {
      execFile(
        'sh',
        ['-xe', '-c', script],
        { cwd: workspace.dir, env: { PATH: process.env.PATH, ...env }, timeout: 120_000 },
        (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, output: `${stdout}\n${stderr}` });
        },
      );
    });

  beforeAll(async () => {
    requireBinary('curl', 'curl');
    requireBinary('openssl', 'openssl');
    bot = await startBot();
  });
  afterAll(async () => {
    await bot.stop();
    workspace.cleanup();
  });

  it('stages the build, without the secret in the build log', async () => {
    writeFileSync(path.join(workspace.dir, 'conjur-cli-22.0.0.gem'), 'gem built by jenkins');
    bot.stageFiles('conjur-cli', '22.0.0', { 'conjur-cli-22.0.0.gem': 'gem built by jenkins' });
    const r = await runScript({
      RELEASE_BOT_URL: bot.url,
      PROJECT: 'conjur-cli',
      VERSION: '22.0.0',
      FILE: path.join(workspace.dir, 'conjur-cli-22.0.0.gem'),
      JOB_NAME: 'conjur-cli',
      BUILD_NUMBER: '7',
      JENKINS_JWT_SECRET: HS_SECRET,
    });
    expect(r.output).toContain('"status":"staged"');
    expect(r.code).toBe(0);
    expect(r.output).not.toContain(HS_SECRET);
    expect(bot.running.app.staged.current('conjur-cli', '22.0.0')).toMatchObject({
      build: { job: 'conjur-cli', number: 7 },
      reportedBy: 'jenkins:conjur-cli (jwt)',
    });
  });

  it("tries again with a fresh token after a 5xx from a proxy that lost the bot's answer", async () => {
    // The first request reaches the bot (its token is spent there) but the client gets a 502: only a
    // new token can succeed on the next try.
    let requests = 0;
    const proxy = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        requests++;
        const lose = requests === 1;
        void bot.post('/webhooks/jenkins', Buffer.concat(chunks), { authorization: req.headers.authorization ?? '' }).then((answer) => {
          if (lose) res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
          else res.writeHead(answer.status, { 'content-type': 'application/json' }).end(answer.raw);
        });
      });
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
    try {
      writeFileSync(path.join(workspace.dir, 'conjur-cli-22.2.0.gem'), 'third gem');
      bot.stageFiles('conjur-cli', '22.2.0', { 'conjur-cli-22.2.0.gem': 'third gem' });
      const url = `http://127.0.0.1:${(proxy.address() as { port: number }).port}`;
      const r = await runScript({
        RELEASE_BOT_URL: url,
        PROJECT: 'conjur-cli',
        VERSION: '22.2.0',
        FILE: path.join(workspace.dir, 'conjur-cli-22.2.0.gem'),
        JOB_NAME: 'conjur-cli',
        BUILD_NUMBER: '9',
        JENKINS_JWT_SECRET: HS_SECRET,
      });
      expect(requests).toBe(2);
      expect(r.output).toContain('"status":"unchanged"');
      expect(r.code).toBe(0);
    } finally {
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    }
  });

  it("fails the step, staging nothing, with a secret that is not the bot's", async () => {
    const wrong = `wrong-secret-canary-${'w'.repeat(32)}`;
    writeFileSync(path.join(workspace.dir, 'conjur-cli-22.1.0.gem'), 'another gem');
    bot.stageFiles('conjur-cli', '22.1.0', { 'conjur-cli-22.1.0.gem': 'another gem' });
    const r = await runScript({
      RELEASE_BOT_URL: bot.url,
      PROJECT: 'conjur-cli',
      VERSION: '22.1.0',
      FILE: path.join(workspace.dir, 'conjur-cli-22.1.0.gem'),
      JOB_NAME: 'conjur-cli',
      BUILD_NUMBER: '8',
      JENKINS_JWT_SECRET: wrong,
    });
    expect(r.code).not.toBe(0);
    expect(r.output).toContain('WEBHOOK_UNAUTHENTICATED');
    expect(r.output).not.toContain(wrong);
    expect(bot.running.app.staged.current('conjur-cli', '22.1.0')).toBeUndefined();
  });
});

import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type RecordedSlackCall, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { repoRoot } from '../support/cli.js';
import { freePort } from '../support/ports.js';
import { project, writeProjectsFile } from '../support/projects-file.js';
import { stopChild } from '../support/stop-child.js';
import { makeTmpDir } from '../support/tmp.js';
import { HS_SECRET, token } from './helpers/tokens.js';

const GIB = 1024 ** 3;
/** How much the server's peak RSS may grow while it handles a 1 GiB artifact: a buffered file would add 1024 MB. */
const GROWTH_LIMIT_KIB = 64 * 1024;
const API_KEY = `apikey-canary-${'m'.repeat(40)}`;
const SLACK_BOT_TOKEN = 'xoxb-canary-000000000-hash-memory-test';
const SLACK_SIGNING_SECRET = 'signing-secret-canary-6a2c8e4b1d';
const ALICE = 'U0ALICE';

/** sha256 of `size` zero bytes, computed here, streamed, without reading any file (independent of the code under test). */
function zerosSha256(size: number): string {
  const hash = createHash('sha256');
  const chunk = Buffer.alloc(1 << 20);
  for (let done = 0; done < size; done += chunk.length) hash.update(chunk);
  return hash.digest('hex');
}

/** Peak resident set size of a running process so far, in KiB. */
function vmHwmKiB(pid: number): number {
  const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`/proc/${pid}/status has no VmHWM line`);
  return Number(m[1]);
}

/**
 * A 1 GiB artifact through `release-bot serve` run as a process, as systemd runs it: staged over the
 * webhook (a signed JWT report, hashed by the server) and released to a directory (copied and hashed
 * again, then read back). The file is sparse, so it costs no disk to stage; the server's peak RSS
 * (VmHWM in /proc) must stay flat through both.
 */
describe('a 1 GiB artifact through release-bot serve (a process)', () => {
  const tmp = makeTmpDir('release-bot-1gib-');
  const staging = path.join(tmp.dir, 'staging');
  const published = path.join(tmp.dir, 'published');
  let conjur: ConjurStandIn;
  let slack: SlackStandIn;
  let serve: ChildProcess;
  let url: string;
  let output = '';
  let expected: string;
  let baselineKiB: number;

  const pid = () => serve.pid as number;
  const report = async (version: string, file: string, sha256: string) => {
    const res = await fetch(`${url}/webhooks/jenkins`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token({ sub: 'big' })}` },
      body: JSON.stringify({ project: 'big', version, build: { job: 'big', number: 7 }, artifacts: [{ path: file, sha256 }] }),
      signal: AbortSignal.timeout(170_000),
    });
    return { status: res.status, json: (await res.json()) as Record<string, unknown> };
  };
  /** `/release big <version>` from Slack as alice; resolves with the channel's final summary message. */
  const release = async (version: string): Promise<RecordedSlackCall> => {
    const sent = await sendSlackRequest(
      `${url}/slack/events`,
      slashCommand({ text: `big ${version}`, user_id: ALICE, user_name: 'alice', response_url: slack.responseUrl() }),
      { signingSecret: SLACK_SIGNING_SECRET },
    );
    expect(sent.status).toBe(200);
    const final = (c: RecordedSlackCall) =>
      ['chat.update', 'chat.postMessage'].includes(c.method) &&
      /^(Released|Release of) big /.test(String(c.body.text)) &&
      String(c.body.text).includes(` ${version}`);
    return slack.waitFor(final, 240_000).catch((err: Error) => {
      throw new Error(`${err.message}\nserve output:\n${output.slice(-4000)}`);
    });
  };

  beforeAll(async () => {
    mkdirSync(staging);
    conjur = await startConjurStandIn({
      account: 'acme',
      apiKeys: { 'host/release-bot': API_KEY },
      groups: { 'release/big': ['user:alice'] },
    });
    slack = await startSlackStandIn({ token: SLACK_BOT_TOKEN, users: [{ id: ALICE, name: 'alice' }] });
    writeProjectsFile(path.join(tmp.dir, 'releases.yml'), {
      staging_dir: staging,
      identity: { strategy: 'map', map: { [ALICE]: 'alice' } },
      projects: { big: project('big', [{ name: 'mirror', type: 'directory', path: `${published}/{project}/{version}` }]) },
    });
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    serve = spawn(process.execPath, [path.join(repoRoot, 'bin', 'release-bot.js'), 'serve'], {
      cwd: tmp.dir,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        PATH: process.env.PATH,
        // The release's private copy of the files lands here, and goes with the test's directory.
        TMPDIR: tmp.dir,
        CONJUR_APPLIANCE_URL: conjur.url,
        CONJUR_ACCOUNT: 'acme',
        CONJUR_AUTHN_LOGIN: 'host/release-bot',
        CONJUR_AUTHN_API_KEY: API_KEY,
        RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
        RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
        HOST: '127.0.0.1',
        PORT: String(port),
        LOG_LEVEL: 'info',
        JENKINS_JWT_SECRET: HS_SECRET,
        SLACK_SIGNING_SECRET,
        SLACK_BOT_TOKEN,
        SLACK_API_URL: slack.apiUrl,
      },
    });
    serve.stdout?.on('data', (d) => (output += String(d)));
    serve.stderr?.on('data', (d) => (output += String(d)));
    const deadline = Date.now() + 30_000;
    while ((await fetch(`${url}/healthz`).catch(() => undefined))?.ok !== true) {
      if (serve.exitCode !== null)
        throw new Error(`release-bot serve exited with ${serve.exitCode} (run \`npm run build\` first):\n${output}`);
      if (Date.now() > deadline) throw new Error(`release-bot serve did not answer /healthz within 30 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // Warm-up with a small artifact through the same paths (JWT, staging, Slack, release), so that
    // what the big one adds is measured, not the first use of the code.
    mkdirSync(path.join(staging, 'big', '0.9.0'), { recursive: true });
    writeFileSync(path.join(staging, 'big', '0.9.0', 'big-0.9.0.iso'), 'small');
    expect((await report('0.9.0', 'big-0.9.0.iso', createHash('sha256').update('small').digest('hex'))).status).toBe(202);
    expect(String((await release('0.9.0')).body.text)).toMatch(/^Released big 0\.9\.0/);

    expected = zerosSha256(GIB);
  }, 120_000);

  afterAll(async () => {
    if (serve) await stopChild(serve);
    await slack?.close();
    await conjur?.close();
    tmp.cleanup();
  });

  it("is staged over the webhook (202) with its sha256 while the server's peak RSS grows by less than 64 MB", async () => {
    const dir = path.join(staging, 'big', '1.0.0');
    mkdirSync(dir, { recursive: true });
    const file = path.join(dir, 'big-1.0.0.iso');
    // Written out in full: the bot refuses sparse files (a build writes its artifacts out, and a sparse
    // one would fill the quarantine with what the staging disk never held).
    const fd = openSync(file, 'wx');
    const chunk = Buffer.alloc(1 << 20);
    for (let done = 0; done < GIB; done += chunk.length) writeSync(fd, chunk);
    closeSync(fd);
    expect(statSync(file).size).toBe(GIB);

    baselineKiB = vmHwmKiB(pid());
    const r = await report('1.0.0', 'big-1.0.0.iso', expected);
    const afterKiB = vmHwmKiB(pid());
    expect(r).toMatchObject({
      status: 202,
      json: { status: 'staged', digests: { kind: 'files', files: [{ path: 'big-1.0.0.iso', sha256: expected, size: GIB }] } },
    });
    expect(afterKiB - baselineKiB).toBeLessThan(GROWTH_LIMIT_KIB);
  }, 180_000);

  it('is released to a directory (copied with its sha256 re-checked, then read back) with the peak RSS still flat', async () => {
    const final = await release('1.0.0');
    const afterKiB = vmHwmKiB(pid());
    expect(String(final.body.text)).toMatch(/^Released big 1\.0\.0/);
    const out = path.join(published, 'big', '1.0.0');
    expect(statSync(path.join(out, 'big-1.0.0.iso')).size).toBe(GIB);
    const label = JSON.parse(readFileSync(path.join(out, 'big-1.0.0.release.json'), 'utf8')) as unknown;
    expect(JSON.stringify(label)).toContain(expected);
    expect(afterKiB - baselineKiB).toBeLessThan(GROWTH_LIMIT_KIB);
  }, 300_000);
});

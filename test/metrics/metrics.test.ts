import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { measuredConjur, type ConjurObserver } from '../../src/conjur/measured.js';
import type { Conjur } from '../../src/conjur/types.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { serve, type RunningServer } from '../../app/serve.js';
import { startBotEnv, API_KEY, type BotEnv, mirrorProject } from '../audit/bot-env.js';

const TOKEN = 'metrics-canary-token-5b3f9a7c1e';
const URL_TOKEN = 'url-token-canary-0d9e8f7a6b5c';

/** The value of one sample in Prometheus text format, or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v) && Object.keys(have).length === Object.keys(labels).length)
      return Number(m[3]);
  }
  return undefined;
}

describe('GET /metrics on release-bot serve', () => {
  let bot: BotEnv;
  let running: RunningServer;
  let base: string;
  const logs: string[] = [];
  const scrape = async () => {
    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toContain('text/plain');
    return res.text();
  };

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: TOKEN, readers: ['host:release-bot'] } },
    });
    // Releases run by other processes (the CLI) count too: the figures come from the shared database.
    bot.stageFiles('conjur-cli', '1.0.0', { 'a.gem': 'a' });
    expect((await bot.cli('stage', 'conjur-cli', '1.0.0')).code).toBe(0);
    expect((await bot.cli('publish', 'conjur-cli', '1.0.0', '--as', 'alice')).code).toBe(0);
    expect((await bot.cli('publish', 'conjur-cli', '1.0.0', '--as', 'bob')).code).toBe(77);
    running = await serve({
      env: { ...bot.env, PORT: '0' },
      logDestination: new Writable({ write: (c, _e, cb) => (logs.push(String(c)), cb()) }),
    });
    base = `http://127.0.0.1:${(running.server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await running?.stop();
    await bot.close();
  });

  it('counts releases by project and result, with durations', async () => {
    const text = await scrape();
    expect(sample(text, 'release_bot_releases_total', { project: 'conjur-cli', result: 'published' })).toBe(1);
    expect(sample(text, 'release_bot_releases_total', { project: 'conjur-cli', result: 'denied' })).toBe(1);
    expect(sample(text, 'release_bot_release_duration_seconds_count', { project: 'conjur-cli', result: 'published' })).toBe(1);
    expect(sample(text, 'release_bot_destination_results_total', { type: 'directory', status: 'published' })).toBe(1);
    expect(sample(text, 'release_bot_releases_in_progress')).toBe(0);
    expect(sample(text, 'release_bot_releases_in_flight')).toBe(0);
    expect(sample(text, 'release_bot_audit_entries')).toBe(4);
    expect(text).toContain('process_resident_memory_bytes');
  });

  it('measures Conjur latency and errors in the serving process', async () => {
    expect(await running.app.core.isMember('alice', 'release/conjur-cli')).toBe(true);
    bot.conjur.setDown(true);
    try {
      await expect(running.app.core.isMember('alice', 'release/conjur-cli')).rejects.toThrow(ReleaseBotError);
    } finally {
      bot.conjur.setDown(false);
    }
    const text = await scrape();
    expect(sample(text, 'release_bot_conjur_request_duration_seconds_count', { operation: 'isMember', outcome: 'ok' })).toBe(1);
    expect(sample(text, 'release_bot_conjur_request_duration_seconds_count', { operation: 'isMember', outcome: 'error' })).toBe(1);
    expect(sample(text, 'release_bot_conjur_errors_total', { operation: 'isMember', code: 'CONJUR_UNAVAILABLE' })).toBe(1);
  });

  it('counts webhook answers by status code, never with the path token as a label', async () => {
    const a = await fetch(`${base}/webhooks/jenkins`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    const b = await fetch(`${base}/webhooks/nope/${URL_TOKEN}`, { method: 'POST' });
    const c = await fetch(`${base}/webhooks/${URL_TOKEN}.x/y`, { method: 'POST' });
    expect(b.status).toBe(404);
    const text = await scrape();
    expect(sample(text, 'release_bot_webhook_requests_total', { webhook: 'jenkins', status: String(a.status) })).toBe(1);
    expect(sample(text, 'release_bot_webhook_requests_total', { webhook: 'nope', status: '404' })).toBe(1);
    expect(sample(text, 'release_bot_webhook_requests_total', { webhook: 'other', status: String(c.status) })).toBe(1);
    expect(sample(text, 'release_bot_webhook_request_duration_seconds_count', { webhook: 'nope' })).toBe(1);
    expect(text).not.toContain(URL_TOKEN);
    expect(text).not.toContain(TOKEN);
    expect(text).not.toContain(API_KEY);
  });
});

describe('measuredConjur', () => {
  const calls: [string, number, string | undefined][] = [];
  const observer: ConjurObserver = { conjurCall: (op, s, code) => void calls.push([op, s, code]) };
  let t = 0;
  const inner: Conjur = {
    whoami: async () => ((t += 250), { account: 'acme', username: 'host/release-bot' }),
    isMember: async () => ((t += 1000), true),
    getSecrets: async () => {
      t += 40;
      throw new ReleaseBotError(ErrorCode.ConjurForbidden, 'no');
    },
    canRead: async () => {
      throw new Error('boom');
    },
  };
  const conjur = measuredConjur(inner, observer, () => t);

  it('passes results and errors through untouched and observes each call', async () => {
    await expect(conjur.whoami()).resolves.toEqual({ account: 'acme', username: 'host/release-bot' });
    await expect(conjur.isMember('alice', 'g')).resolves.toBe(true);
    await expect(conjur.getSecrets(['x'])).rejects.toMatchObject({ code: ErrorCode.ConjurForbidden });
    await expect(conjur.canRead('x')).rejects.toThrow('boom');
    expect(calls).toEqual([
      ['whoami', 0.25, undefined],
      ['isMember', 1, undefined],
      ['getSecrets', 0.04, 'CONJUR_FORBIDDEN'],
      ['canRead', 0, 'INTERNAL'],
    ]);
  });
});

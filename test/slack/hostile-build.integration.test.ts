import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { RecordedSlackCall } from '../../dev/slack-stand-in.js';
import { repoRoot } from '../support/cli.js';
import { startSlackWorld, type SlackWorld } from '../support/slack-world.js';

/**
 * Attacks from the build side through a running release-bot serve (Slack on the loopback stand-in,
 * which records every call): a build whose file name and URL carry Slack markup, released through an
 * exec destination whose script fails after printing its credential in every form tools print one.
 */

/** The credential: long enough that `xxd -p` wraps it, with characters URL, JSON and Slack encode. */
const TOKEN = 'dl/Canary+Token&"q"<x>=5b8e0c2f7a9d1e3';
const HOSTILE_FILE = '<!channel> & <@U123> <http:evil.example|click>.gem';
// A valid http(s) URL, as the webhook requires, with markup in its query and fragment.
const HOSTILE_URL = 'https://jenkins.example/job/conjur-cli/7/?a=<!channel>&b=<@U123>#<https://evil.example|click>';
const LIVE = ['<!channel', '<@U123', '<http:evil', '<https://evil'];

/** Runs of 8 characters of the token, in every form it could take; none may be readable anywhere. */
function tokenPieces(): string[] {
  const bytes = Buffer.from(TOKEN);
  const pieces = new Set<string>();
  const windows = (s: string, from = 0, to = s.length) => {
    for (let i = from; i + 8 <= to; i++) pieces.add(s.slice(i, i + 8));
  };
  for (const form of [
    TOKEN,
    encodeURIComponent(TOKEN),
    JSON.stringify(TOKEN).slice(1, -1),
    TOKEN.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;'),
    bytes.toString('hex'),
    bytes.toString('hex').toUpperCase(),
  ])
    windows(form);
  // base64 after a prefix of 0, 1 and 2 bytes (mod 3): only the characters made of the token's bits.
  for (const prefix of ['', 'u:', 'deploy:']) {
    for (const encoding of ['base64', 'base64url'] as const) {
      const encoded = Buffer.concat([Buffer.from(prefix), bytes]).toString(encoding);
      windows(encoded, Math.floor((8 * prefix.length) / 6), Math.ceil((8 * (prefix.length + bytes.length)) / 6));
    }
  }
  return [...pieces];
}

function leaks(where: string, text: string): string[] {
  const flat = text.replace(/\s+/g, '');
  return tokenPieces()
    .filter((p) => text.includes(p) || flat.includes(p))
    .map((p) => `${where}: ${JSON.stringify(p)}`);
}

/** Every string in a recorded call's body, nested ones included. */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

/** The bot's own markup: dates, known users and channels, links to the build on Jenkins. Nothing else may be live. */
const OURS = /^<(?:!date\^\d+\^[^|<>]*\|[^<>]*|@U0[A-Z]+|#C0[A-Z]+|https:\/\/jenkins\.example\/[^|<>]*\|[^<>]*)>$/;

function liveMarkup(call: RecordedSlackCall): string[] {
  const found: string[] = [];
  for (const s of strings(call.body)) {
    for (const live of LIVE) if (s.includes(live)) found.push(`${call.method}: ${live} in ${JSON.stringify(s)}`);
    for (const token of s.match(/<[^<>]*>/g) ?? []) if (!OURS.test(token)) found.push(`${call.method}: ${token}`);
    if (/&(?!amp;|lt;|gt;)/.test(s) && !/^[\w.-]+$/.test(s)) found.push(`${call.method}: a bare & in ${JSON.stringify(s)}`);
  }
  return found;
}

const text = (c: RecordedSlackCall) => String(c.body.text ?? '');

describe('a hostile build against a running release-bot serve: nothing live in Slack, no form of a secret anywhere', () => {
  let w: SlackWorld;

  beforeAll(async () => {
    w = await startSlackWorld({ publishScript: path.join(repoRoot, 'test/fixtures/slack/hostile-publish.sh'), downloadsToken: TOKEN });
    expect(new URL(HOSTILE_URL).protocol).toBe('https:');
    w.stageFiles('conjur-cli', '9.9.9', { [HOSTILE_FILE]: 'gem bytes 9.9.9' });
    await w.server.app.core.stage({
      project: 'conjur-cli',
      version: '9.9.9',
      build: { job: 'conjur-cli', number: 7, url: HOSTILE_URL, commit: '9fceb02d0ae598e95dc970b74767f19372d61af8' },
      reportedBy: 'jenkins:conjur-cli',
      actor: { via: 'jenkins:conjur-cli' },
    });
    await w.slack.waitFor((c) => c.method === 'chat.postMessage' && text(c).startsWith('conjur-cli 9.9.9 is ready to release'));

    // A dry run answers through the response_url with the plan and the file names.
    const dry = await w.command('alice', 'conjur-cli 9.9.9 --dry-run');
    await w.reply(dry.responseUrl, 30_000);

    // The release: progress message, thread replies, the failure's summary, the requester's answer.
    const sent = await w.command('alice', 'conjur-cli 9.9.9');
    await w.slack.waitFor((c) => c.method === 'chat.update' && text(c).startsWith('Release FAILED: conjur-cli 9.9.9'), 60_000);
    await w.reply(sent.responseUrl, 30_000);
  }, 120_000);

  afterAll(async () => {
    await w?.stop();
  });

  it('the script really printed the token and the names: the failure quotes it, redacted, and the names, escaped', () => {
    const failed = w.server.app.audit.list({ project: 'conjur-cli', limit: 20 }).find((e) => e.type === 'failed');
    const said = JSON.stringify(failed?.data);
    expect(said).toContain('Authorization: Basic');
    expect(said).toContain('token at the cut: [REDACTED]');
    expect(said).toContain('GET /download?token=[REDACTED]');
    expect(said).toContain(HOSTILE_FILE);
    const summary = w.slack.calls.filter((c) => c.method === 'chat.update' && text(c).startsWith('Release FAILED'));
    expect(JSON.stringify(summary.map((c) => c.body.blocks))).toContain('Authorization: Basic');
    expect(JSON.stringify(summary.map((c) => c.body.blocks))).toContain('&lt;!channel&gt; &amp; &lt;@U123&gt;');
  });

  it('every Slack call (postMessage, update, thread replies, response_url answers) leaves the build-side markup escaped', () => {
    const methods = new Set(w.slack.calls.map((c) => c.method));
    expect([...methods]).toEqual(expect.arrayContaining(['chat.postMessage', 'chat.update', 'response_url']));
    expect(w.slack.calls.some((c) => c.method === 'chat.postMessage' && c.body.thread_ts)).toBe(true);
    expect(w.slack.calls.flatMap(liveMarkup)).toEqual([]);
  });

  it('no form of the token in any Slack call, audit entry, database file, audit export or log line', async () => {
    expect(
      w.slack.calls.flatMap((c, i) => leaks(`slack call ${i} (${c.method})`, JSON.stringify(c.body) + strings(c.body).join('\n'))),
    ).toEqual([]);
    const entries = w.server.app.audit.list({ limit: 1000 });
    expect(entries.flatMap((e) => leaks(`audit ${e.id}`, JSON.stringify(e) + strings(e.data).join('\n')))).toEqual([]);
    const dataDir = w.env.RELEASE_BOT_DATA_DIR as string;
    // Every file the bot keeps: the database (and its WAL) and the quarantine of staged files.
    for (const file of readdirSync(dataDir, { recursive: true, encoding: 'utf8' })) {
      const full = path.join(dataDir, file);
      if (statSync(full).isFile()) expect(leaks(file, readFileSync(full).toString('latin1'))).toEqual([]);
    }
    const exported = await w.cli('audit', 'export', '--jsonl');
    expect(exported.code).toBe(0);
    expect(exported.stdout).toContain('"failed"');
    expect(leaks('audit export', exported.stdout + exported.stderr)).toEqual([]);
    expect(w.logLines.length).toBeGreaterThan(0);
    expect(leaks('log', w.logLines.join(''))).toEqual([]);
  });
});

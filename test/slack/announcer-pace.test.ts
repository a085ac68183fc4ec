import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import pino from 'pino';
import { ReleaseAnnouncer } from '../../handlers/slack/announcer.js';
import { UPDATE_INTERVAL_MS } from '../../handlers/slack/release-message.js';
import { HOLD_FOR_SUMMARY_MS } from '../../handlers/slack/release-message.js';
import type { SlackChat } from '../../handlers/slack/chat.js';
import type { SlackMessage } from '../../handlers/slack/messages/mrkdwn.js';
import type { App } from '../../src/app.js';
import type { Approvals } from '../../src/release/approvals.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { ReleaseSummary } from '../../src/release/types.js';

/** What the announcer wrote, in order, with the fake clock's time. */
interface Write {
  at: number;
  method: 'post' | 'update';
  text: string;
}

const sha = 'a'.repeat(64);
const build = { job: 'conjur-cli', number: 7, url: 'https://jenkins.example/job/conjur-cli/7/', commit: 'c'.repeat(40) };
const artifact = { kind: 'files' as const, files: [{ path: 'conjur-cli-8.1.0.gem', sha256: sha, size: 10 }] };
const requester = { login: 'alice', via: 'slack' as const, chatUserId: 'U0ALICE' };

function world(updateIntervalMs: number) {
  const events = new EventEmitter();
  const writes: Write[] = [];
  const chat = {
    post: async (_channel: string, message: SlackMessage, threadTs?: string) => {
      if (!threadTs) writes.push({ at: Date.now(), method: 'post', text: message.text });
      return 'ts-1';
    },
    update: async (_channel: string, _ts: string, message: SlackMessage) => {
      writes.push({ at: Date.now(), method: 'update', text: message.text });
    },
  };
  // Only what the announcer reads of the core and the approvals: their event emitters, and where to record the message.
  const core = { events, recordMessage: () => Promise.resolve(), config: { channel: '#releases', projects: new Map() } };
  const approvals = { events: new EventEmitter() };
  new ReleaseAnnouncer(
    core as unknown as ReleaseCore,
    // The records are read only for interrupted releases and approval requests, which this test has none of.
    {} as unknown as Pick<App, 'audit' | 'releases' | 'staged'>,
    approvals as unknown as Approvals,
    chat as unknown as SlackChat,
    pino({ level: 'silent' }),
    updateIntervalMs,
  ).attach();
  const project = { name: 'conjur-cli', channel: '#releases', destinations: [{ name: 'mirror', type: 'directory' }] };
  const release = { id: 'rel_1', version: '8.1.0', dryRun: false, approvers: [], resumeOf: null };
  return {
    writes,
    start: () => events.emit('release-started', { release, staged: { build, artifact }, project, requester, destinations: ['mirror'] }),
    step: () => events.emit('destination-started', { releaseId: 'rel_1', destination: 'mirror', type: 'directory', attempt: 1 }),
    done: () =>
      events.emit('destination-finished', {
        releaseId: 'rel_1',
        outcome: { name: 'mirror', type: 'directory', status: 'published', attempts: 1, durationMs: 5 },
      }),
    finish: () => {
      const summary: ReleaseSummary = {
        releaseId: 'rel_1',
        project: 'conjur-cli',
        version: '8.1.0',
        state: 'published',
        dryRun: false,
        resumeOf: null,
        build,
        artifact,
        requester,
        approvers: [],
        destinations: [{ name: 'mirror', type: 'directory', status: 'published', attempts: 1, durationMs: 5 }],
        credentialIds: [],
        startedAt: '2030-01-01T10:00:00.000Z',
        finishedAt: '2030-01-01T10:00:01.000Z',
        durationMs: 1000,
        auditId: 'aud_1',
      };
      events.emit('release-finished', { summary, project });
    },
  };
}

beforeEach(() => jest.useFakeTimers({ now: 0 }));
afterEach(() => jest.useRealTimers());

test('progress is coalesced: changes within one interval make one update, with the latest state', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  await jest.advanceTimersByTimeAsync(0);
  w.step();
  w.step();
  await jest.advanceTimersByTimeAsync(UPDATE_INTERVAL_MS - 1);
  expect(w.writes.map((x) => x.method)).toEqual(['post']);
  await jest.advanceTimersByTimeAsync(1);
  expect(w.writes.map((x) => x.method)).toEqual(['post', 'update']);
});

test('with a long progress interval, the audit summary still goes out within Slack’s one-second limit, and progress never does', async () => {
  const w = world(10 * 60_000);
  w.start();
  await jest.advanceTimersByTimeAsync(0);
  w.step();
  await jest.advanceTimersByTimeAsync(300);
  w.finish();
  await jest.advanceTimersByTimeAsync(UPDATE_INTERVAL_MS);
  expect(w.writes.map((x) => [x.method, x.text.split(' ')[0]])).toEqual([
    ['post', 'Releasing'],
    ['update', 'Released'],
  ]);
  // Never sooner than Slack allows after the post, never later than that.
  expect(w.writes[1]!.at - w.writes[0]!.at).toBe(UPDATE_INTERVAL_MS);
  await jest.advanceTimersByTimeAsync(20 * 60_000);
  expect(w.writes).toHaveLength(2);
});

/** [method, first word of the text, ms since the release started] of every write of the release's message. */
const written = (w: ReturnType<typeof world>) => w.writes.map((x) => [x.method, x.text.split(' ')[0], x.at]);

test('the message is posted when the release reaches its destinations, showing them running', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  await jest.advanceTimersByTimeAsync(300);
  expect(w.writes).toHaveLength(0);
  w.step();
  await jest.advanceTimersByTimeAsync(0);
  expect(written(w)).toEqual([['post', 'Releasing', 300]]);
  expect(w.writes[0]!.text).toContain('- mirror: running');
});

test('a release that has not reached its destinations after a second is posted as it stands', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  await jest.advanceTimersByTimeAsync(UPDATE_INTERVAL_MS - 1);
  expect(w.writes).toHaveLength(0);
  await jest.advanceTimersByTimeAsync(1);
  expect(written(w)).toEqual([['post', 'Releasing', UPDATE_INTERVAL_MS]]);
  expect(w.writes[0]!.text).toContain('authorized: preparing');
});

test('the audit summary goes at once when the message was last updated a second ago or more', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  w.step();
  await jest.advanceTimersByTimeAsync(0);
  w.step();
  await jest.advanceTimersByTimeAsync(2500);
  w.finish();
  await jest.advanceTimersByTimeAsync(0);
  expect(written(w)).toEqual([
    ['post', 'Releasing', 0],
    ['update', 'Releasing', UPDATE_INTERVAL_MS],
    ['update', 'Released', 2500],
  ]);
});

test('two changes within a second of an update are coalesced, and the summary waits for the second to pass', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  w.step();
  await jest.advanceTimersByTimeAsync(0);
  w.step();
  await jest.advanceTimersByTimeAsync(UPDATE_INTERVAL_MS);
  // Two more changes and the summary within the second after that update: only the summary goes, a second after it.
  await jest.advanceTimersByTimeAsync(100);
  w.step();
  await jest.advanceTimersByTimeAsync(100);
  w.step();
  await jest.advanceTimersByTimeAsync(100);
  w.finish();
  await jest.advanceTimersByTimeAsync(UPDATE_INTERVAL_MS - 301);
  expect(w.writes).toHaveLength(2);
  await jest.advanceTimersByTimeAsync(1);
  expect(written(w)).toEqual([
    ['post', 'Releasing', 0],
    ['update', 'Releasing', UPDATE_INTERVAL_MS],
    ['update', 'Released', 2 * UPDATE_INTERVAL_MS],
  ]);
  await jest.advanceTimersByTimeAsync(10_000);
  expect(w.writes).toHaveLength(3);
});

test('the progress that shows every destination done gives its place to the summary that follows it', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  w.step();
  await jest.advanceTimersByTimeAsync(0);
  w.step();
  // An update is due at 1 s; the destination finishes just before it, the summary just after it would have gone.
  await jest.advanceTimersByTimeAsync(UPDATE_INTERVAL_MS - 20);
  w.done();
  await jest.advanceTimersByTimeAsync(40);
  w.finish();
  await jest.advanceTimersByTimeAsync(0);
  expect(written(w)).toEqual([
    ['post', 'Releasing', 0],
    ['update', 'Released', UPDATE_INTERVAL_MS + 20],
  ]);
  await jest.advanceTimersByTimeAsync(2 * HOLD_FOR_SUMMARY_MS);
  expect(w.writes).toHaveLength(2);
});

test('when no summary follows, the progress with every destination done is shown after the hold', async () => {
  const w = world(UPDATE_INTERVAL_MS);
  w.start();
  w.step();
  await jest.advanceTimersByTimeAsync(0);
  w.done();
  await jest.advanceTimersByTimeAsync(HOLD_FOR_SUMMARY_MS - 1);
  expect(w.writes).toHaveLength(1);
  await jest.advanceTimersByTimeAsync(1);
  expect(written(w)).toEqual([
    ['post', 'Releasing', 0],
    ['update', 'Releasing', HOLD_FOR_SUMMARY_MS],
  ]);
  expect(w.writes[1]!.text).toContain('mirror: published');
});

import { EventEmitter } from 'node:events';
import { jest } from '@jest/globals';
import pino from 'pino';
import { ReleaseAnnouncer, UPDATE_INTERVAL_MS } from '../../handlers/slack/announcer.js';
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

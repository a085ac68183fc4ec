import { approvalClosedMessage, approvalRequestMessage } from '../../handlers/slack/messages/approval.js';
import { errorMessage } from '../../handlers/slack/messages/denial.js';
import { auditListMessage, stagedListMessage, statusMessage } from '../../handlers/slack/messages/listings.js';
import { esc, type SlackMessage } from '../../handlers/slack/messages/mrkdwn.js';
import {
  frozenMessage,
  interruptedMessage,
  policyRejectedMessage,
  stageConflictMessage,
  unfrozenMessage,
} from '../../handlers/slack/messages/notices.js';
import { readinessMessage } from '../../handlers/slack/messages/readiness.js';
import {
  destinationFinishedMessage,
  destinationProgressMessage,
  destinationStartedMessage,
  releaseProgressMessage,
} from '../../handlers/slack/messages/release-progress.js';
import { releaseSummaryMessage } from '../../handlers/slack/messages/release-summary.js';
import { acceptedMessage, helpMessage, noteMessage, usageMessage } from '../../handlers/slack/messages/usage.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { BuildInfo, StagedArtifact } from '../../src/publishing/types.js';
import type { ApprovalRequest } from '../../src/release/approvals.js';
import type { DestinationOutcome, ReleaseSummary } from '../../src/release/types.js';
import type { DestinationRecord, ReleaseRecord } from '../../src/store/releases.js';
import type { StagedBuild } from '../../src/store/staged-builds.js';

/**
 * Hostile text tagged with a word of its own (`w007`): mrkdwn control characters, a broadcast, a
 * mention, a link and `&`, as a build side could put them in a file name, a job name or tool output.
 * Each value given to a builder has its own tag, so the test can tell which facts a part shows.
 */
let n = 0;
const H = (): string => `<!channel> *w${String(++n).padStart(3, '0')}* & <@U0EVIL> <https://evil.example|x> _y_ \`z\``;
const TAG = /\bw\d{3}\b/g;

/**
 * Every string of the blocks, the buttons' confirmation dialogs included; with `markupOnly`, only those
 * Slack parses for markup (plain_text objects, such as headers, show `<!channel>` as those characters).
 */
function strings(value: unknown, out: string[] = [], markupOnly = false): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out, markupOnly);
  else if (value && typeof value === 'object') {
    if (markupOnly && (value as { type?: unknown }).type === 'plain_text') return out;
    for (const [k, v] of Object.entries(value))
      if (k !== 'value' && k !== 'action_id' && k !== 'block_id' && k !== 'url') strings(v, out, markupOnly);
  }
  return out;
}
const tags = (s: string) => [...new Set(s.match(TAG) ?? [])].sort();

function expectSameWords(m: SlackMessage): void {
  const blockText = strings(m.blocks).join('\n');
  // The same facts: every tagged value the blocks show, the fallback shows, and the other way round.
  expect(tags(m.text)).toEqual(tags(blockText));
  expect(tags(m.text).length).toBeGreaterThan(0);
  // Escaped by the one esc in both: nothing of the hostile text is live markup in either.
  for (const s of [m.text, ...strings(m.blocks, [], true)]) {
    expect(s).not.toMatch(/<!channel|<@U0EVIL|<https:\/\/evil/);
    expect(s).not.toMatch(/&(?!amp;|lt;|gt;)/);
  }
  expect(m.text).toContain(esc('<!channel>'));
}

const at = '2030-01-01T10:00:00.000Z';
const build = (): BuildInfo => ({
  job: `conjur-cli ${H()}`,
  number: 7,
  url: 'https://jenkins.example/job/x/7/',
  commit: 'abcdef0123456789',
});
const files = (): StagedArtifact => ({ kind: 'files', files: [{ path: `dir/${H()}.gem`, sha256: 'a'.repeat(64), size: 1 }] });
const staged = (): StagedBuild => ({
  id: 1,
  project: 'conjur-cli',
  version: '4.2.0',
  artifact: files(),
  build: build(),
  reportedBy: `jenkins ${H()}`,
  fingerprint: 'f',
  stagedAt: at,
});
const outcome = (status: DestinationOutcome['status'] = 'failed'): DestinationOutcome => ({
  name: `downloads-${H()}`,
  type: 'exec',
  status,
  attempts: 2,
  durationMs: 10,
  ...(status === 'failed' ? { error: { code: 'EXEC_FAILED', message: `publish.sh exited with 1: ${H()}`, retryable: false } } : {}),
});
const summary = (): ReleaseSummary => ({
  releaseId: 'rel_1',
  project: 'conjur-cli',
  version: '4.2.0',
  state: 'failed',
  dryRun: false,
  resumeOf: null,
  build: build(),
  artifact: files(),
  requester: { login: `alice${H()}`, via: 'slack', chatUserId: 'U0ALICE' },
  approvers: [H()],
  destinations: [outcome(), outcome('published')],
  credentialIds: [],
  startedAt: at,
  finishedAt: at,
  durationMs: 10,
  auditId: 'aud_1',
  error: { code: 'DESTINATION_FAILED', message: H() },
});
const approval = (status: ApprovalRequest['status'] = 'open'): ApprovalRequest => ({
  id: 'apr_1',
  project: 'gated',
  version: '1.0.0',
  stagedBuildId: 1,
  fingerprint: 'f',
  requester: { login: `alice${H()}`, via: 'slack' },
  needed: 2,
  approverGroup: H(),
  resume: false,
  action: 'release',
  reason: null,
  noLock: false,
  status,
  createdAt: at,
  expiresAt: at,
  closedAt: at,
  closedReason: H(),
  approvals: [{ login: H(), chatUserId: null, at }],
});
const release = (): ReleaseRecord =>
  ({
    id: 'rel_1',
    project: 'conjur-cli',
    version: '4.2.0',
    state: 'failed',
    requesterLogin: H(),
    errorCode: 'EXEC_FAILED',
    dryRun: false,
    createdAt: at,
  }) as ReleaseRecord;
const freeze = () => ({ project: 'conjur-cli', by: H(), reason: H(), at });

/** Every message builder of the Slack side (handlers/slack/messages/*), as the bot calls them. */
const builders: Array<[string, () => SlackMessage]> = [
  [
    'readiness note',
    () =>
      readinessMessage({
        staged: staged(),
        replaced: { build: build(), stagedAt: at },
        project: {
          name: 'conjur-cli',
          approvals: 1,
          approver_group: H(),
          authorized_group: H(),
          destinations: [{ name: H(), type: 'exec' }],
        },
      }),
  ],
  [
    'progress message',
    () =>
      releaseProgressMessage({
        releaseId: 'rel_1',
        project: 'conjur-cli',
        version: '4.2.0',
        state: 'publishing',
        build: build(),
        artifact: files(),
        requester: { login: H(), via: 'slack' },
        approvers: [H()],
        resumeOf: null,
        destinations: [
          { name: H(), type: 'exec', running: true },
          { name: 'done', outcome: outcome() },
        ],
      }),
  ],
  ['thread: destination started', () => destinationStartedMessage({ destination: H(), type: H(), attempt: 2 })],
  ['thread: destination progress', () => destinationProgressMessage({ destination: H(), message: H() })],
  ['thread: destination finished', () => destinationFinishedMessage({ ...outcome(), location: H() })],
  ['summary', () => releaseSummaryMessage(summary())],
  [
    'dry-run summary',
    () =>
      releaseSummaryMessage({
        ...summary(),
        dryRun: true,
        state: 'dry-run',
        error: undefined,
        destinations: [{ ...outcome('planned'), plan: [H()] }],
      }),
  ],
  ['refusal', () => errorMessage(new ReleaseBotError(ErrorCode.ArtifactMismatch, `${H()} changed after staging`))],
  [
    'refusal with details (frozen)',
    () => errorMessage(new ReleaseBotError(ErrorCode.Frozen, H(), { details: { by: H(), at, reason: H() } })),
  ],
  [
    'refusal with details (already released)',
    () => errorMessage(new ReleaseBotError(ErrorCode.AlreadyReleased, H(), { details: { by: H(), at, releaseId: 'rel_1' } })),
  ],
  [
    'refusal with details (not authorized)',
    () => errorMessage(new ReleaseBotError(ErrorCode.NotAuthorized, H(), { details: { group: H() } })),
  ],
  ['approval request', () => approvalRequestMessage(approval(), staged())],
  ['approval request, void', () => approvalRequestMessage(approval('void'))],
  ['approval request (yank)', () => approvalRequestMessage({ ...approval(), action: 'yank', reason: H(), noLock: true }, staged())],
  ['approval closed (yank)', () => approvalClosedMessage({ ...approval('void'), action: 'yank', reason: H() })],
  ['approval closed', () => approvalClosedMessage(approval('expired'))],
  [
    'stage conflict',
    () =>
      stageConflictMessage({
        project: 'conjur-cli',
        version: '4.2.0',
        reportedBy: H(),
        build: build(),
        releasedBy: H(),
        releaseId: 'rel_1',
      }),
  ],
  ['interrupted', () => interruptedMessage(release(), [{ destination: H(), status: 'published' } as DestinationRecord], 'aud_1')],
  ['frozen', () => frozenMessage(freeze())],
  ['unfrozen', () => unfrozenMessage(freeze(), H())],
  [
    'config changed: projects file refused',
    () =>
      policyRejectedMessage({
        file: `/etc/release-bot/${H()}.yml`,
        sha256: 'b'.repeat(64),
        runningSha256: 'c'.repeat(64),
        problems: [H(), H()],
        auditId: 'aud_1',
      }),
  ],
  ['list', () => stagedListMessage([{ staged: staged(), release: release() }, { staged: staged() }])],
  [
    'status',
    () => statusMessage({ project: 'conjur-cli', staged: [staged()], releases: [release()], freeze: freeze(), approvals: [approval()] }),
  ],
  [
    'audit list',
    () =>
      auditListMessage([
        {
          seq: 1,
          id: 'aud_1',
          at,
          type: 'denied',
          project: 'conjur-cli',
          version: '4.2.0',
          releaseId: null,
          actor: { via: 'slack', conjurLogin: H() },
          data: { code: H(), reason: 'refused' },
          prevHash: '0',
          hash: '1',
        },
      ]),
  ],
  ['usage', () => usageMessage(H())],
  ['accepted (ack)', () => acceptedMessage(H())],
];

describe('every Slack message: the text fallback and the blocks say the same, escaped by the one esc', () => {
  it.each(builders)('%s', (_name, make) => {
    expectSameWords(make());
  });

  it('/release status shows the latest releases first, in the blocks and in the fallback', () => {
    const m = statusMessage({
      project: 'conjur-cli',
      staged: [staged()],
      releases: [release()],
      freeze: freeze(),
      approvals: [approval()],
    });
    const sections = m.blocks.filter((b) => b.type === 'section').map((b) => strings(b).join(' '));
    expect(sections[0]).toMatch(/\*Latest releases\*\n• `4\.2\.0` failed/);
    expect(m.text.split('\n').slice(0, 3)).toEqual([
      'Status of conjur-cli',
      'releases: 4.2.0 failed',
      expect.stringMatching(/^ {2}- 4\.2\.0 failed by /),
    ]);
  });

  it('help says the same commands in both', () => {
    const m = helpMessage();
    const words = (s: string) => [...new Set(s.match(/\/release [a-z]+/g) ?? [])].sort();
    expect(words(m.text)).toEqual(words(strings(m.blocks).join('\n')));
  });

  it('a note is given its fallback by the caller, escaped by the builder', () => {
    const m = noteMessage('a note', H());
    expect(m.text).toContain(esc('<!channel>'));
  });
});

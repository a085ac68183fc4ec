import { approvalClosedMessage, approvalRequestMessage } from '../../handlers/slack/messages/approval.js';
import { errorMessage } from '../../handlers/slack/messages/denial.js';
import { auditListMessage, stagedListMessage, statusMessage } from '../../handlers/slack/messages/listings.js';
import type { SlackMessage } from '../../handlers/slack/messages/mrkdwn.js';
import { frozenMessage, interruptedMessage, stageConflictMessage, unfrozenMessage } from '../../handlers/slack/messages/notices.js';
import { readinessMessage } from '../../handlers/slack/messages/readiness.js';
import {
  destinationFinishedMessage,
  destinationProgressMessage,
  destinationStartedMessage,
  releaseProgressMessage,
} from '../../handlers/slack/messages/release-progress.js';
import { releaseSummaryMessage } from '../../handlers/slack/messages/release-summary.js';
import { acceptedMessage, noteMessage, usageMessage } from '../../handlers/slack/messages/usage.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { BuildInfo, StagedArtifact } from '../../src/publishing/types.js';
import type { ApprovalRequest } from '../../src/release/approvals.js';
import type { DestinationOutcome, ReleaseSummary } from '../../src/release/types.js';
import type { DestinationRecord, ReleaseRecord } from '../../src/store/releases.js';
import type { StagedBuild } from '../../src/store/staged-builds.js';

/** What a build side (file names, URLs, tool output, error text quoting them) could put in front of the channel. */
const HOSTILE = '<!channel> <https://evil.example|click> <@U123> <!subteam^S0EVIL> <#C0EVIL> & done';
const LIVE = ['<!channel', '<https://evil', '<@U123', '<!subteam', '<#C0EVIL'];

/** Every string in a message, `text` fallback and blocks alike (Slack renders markup in both). */
function strings(value: unknown, out: string[] = []): string[] {
  if (typeof value === 'string') out.push(value);
  else if (Array.isArray(value)) for (const v of value) strings(v, out);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) strings(v, out);
  return out;
}

function expectInert(name: string, m: SlackMessage): void {
  for (const s of strings(m)) {
    for (const live of LIVE) if (s.includes(live)) throw new Error(`${name}: ${JSON.stringify(live)} is live in ${JSON.stringify(s)}`);
    // A bare "&" would let a hostile "&lt;" become "<" for the reader; every "&" is an entity.
    if (/&(?!amp;|lt;|gt;)/.test(s)) throw new Error(`${name}: an unescaped "&" in ${JSON.stringify(s)}`);
  }
  // The hostile text is shown (escaped), not silently dropped.
  expect(m.text).toContain('&lt;!channel&gt;');
}

const at = '2030-01-01T10:00:00.000Z';
const build: BuildInfo = {
  job: `conjur-cli ${HOSTILE}`,
  number: 7,
  url: 'https://jenkins.example/job/x/7/?a=<!channel>&b=<@U123>#<https://evil.example|click>',
  commit: HOSTILE,
};
const files: StagedArtifact = { kind: 'files', files: [{ path: `dir ${HOSTILE}/conjur-cli.gem`, sha256: 'a'.repeat(64), size: 1 }] };
const staged: StagedBuild = {
  id: 1,
  project: 'conjur-cli',
  version: '4.2.0',
  artifact: files,
  build,
  reportedBy: `jenkins ${HOSTILE}`,
  fingerprint: 'f',
  stagedAt: at,
};
const outcome: DestinationOutcome = {
  name: `downloads ${HOSTILE}`,
  type: 'exec',
  status: 'failed',
  attempts: 1,
  durationMs: 10,
  location: HOSTILE,
  detail: HOSTILE,
  error: { code: 'EXEC_FAILED', message: `publish.sh exited with 1: ${HOSTILE}`, retryable: false },
};
const summary: ReleaseSummary = {
  releaseId: 'rel_1',
  project: 'conjur-cli',
  version: '4.2.0',
  state: 'failed',
  dryRun: false,
  resumeOf: null,
  build,
  artifact: files,
  requester: { login: 'alice', via: 'slack', chatUserId: 'U0ALICE' },
  approvers: [HOSTILE],
  destinations: [outcome, { ...outcome, status: 'skipped', error: undefined }],
  credentialIds: [],
  startedAt: at,
  finishedAt: at,
  durationMs: 10,
  auditId: 'aud_1',
  error: { code: 'DESTINATION_FAILED', message: HOSTILE },
};
const approval: ApprovalRequest = {
  id: 'apr_1',
  project: 'gated',
  version: '1.0.0',
  stagedBuildId: 1,
  fingerprint: 'f',
  // A Conjur login (validated where it is read): the header, plain_text, shows it as is.
  requester: { login: 'alice', via: 'slack' },
  needed: 2,
  approverGroup: HOSTILE,
  resume: false,
  action: 'release',
  reason: null,
  noLock: false,
  status: 'void',
  createdAt: at,
  expiresAt: at,
  closedAt: at,
  closedReason: HOSTILE,
  approvals: [{ login: HOSTILE, chatUserId: null, at }],
};
const release = {
  id: 'rel_1',
  project: 'conjur-cli',
  version: '4.2.0',
  state: 'failed',
  requesterLogin: HOSTILE,
  errorCode: HOSTILE,
  dryRun: false,
  createdAt: at,
} as ReleaseRecord;
const destination = { destination: HOSTILE, status: 'running' } as DestinationRecord;
const freeze = { project: 'conjur-cli', by: HOSTILE, reason: HOSTILE, at };

describe('every Slack message builder escapes untrusted text, in the text fallback as in blocks', () => {
  const cases: Array<[string, () => SlackMessage]> = [
    [
      'readiness note',
      () =>
        readinessMessage({
          staged,
          replaced: { build, stagedAt: at },
          project: {
            name: 'conjur-cli',
            approvals: 1,
            approver_group: HOSTILE,
            authorized_group: HOSTILE,
            destinations: [{ name: HOSTILE, type: 'exec' }],
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
          build,
          artifact: files,
          requester: { login: HOSTILE, via: 'slack' },
          approvers: [HOSTILE],
          resumeOf: null,
          destinations: [
            { name: HOSTILE, type: 'exec', running: true },
            { name: 'done', outcome },
          ],
        }),
    ],
    ['thread: destination started', () => destinationStartedMessage({ destination: HOSTILE, type: HOSTILE, attempt: 2 })],
    ['thread: destination progress (tool output)', () => destinationProgressMessage({ destination: HOSTILE, message: HOSTILE })],
    ['thread: destination finished', () => destinationFinishedMessage(outcome)],
    ['summary', () => releaseSummaryMessage(summary)],
    [
      'dry-run summary (response_url)',
      () =>
        releaseSummaryMessage({
          ...summary,
          dryRun: true,
          state: 'dry-run',
          destinations: [{ ...outcome, status: 'planned', error: undefined, plan: [HOSTILE] }],
        }),
    ],
    ['refusal (ephemeral)', () => errorMessage(new ReleaseBotError(ErrorCode.ArtifactMismatch, `${HOSTILE} changed after staging`))],
    [
      'refusal with details',
      () => errorMessage(new ReleaseBotError(ErrorCode.Frozen, HOSTILE, { details: { by: HOSTILE, at, reason: HOSTILE } })),
    ],
    ['approval request', () => approvalRequestMessage(approval, staged)],
    [
      "approval request (yank: the reason is the requester's text)",
      () => approvalRequestMessage({ ...approval, status: 'open', action: 'yank', reason: HOSTILE, noLock: true }, staged),
    ],
    ['approval closed', () => approvalClosedMessage(approval)],
    [
      'stage conflict',
      () =>
        stageConflictMessage({
          project: 'conjur-cli',
          version: '4.2.0',
          reportedBy: HOSTILE,
          build,
          releasedBy: HOSTILE,
          releaseId: 'rel_1',
        }),
    ],
    ['interrupted', () => interruptedMessage(release, [destination], 'aud_1')],
    ['frozen', () => frozenMessage(freeze)],
    ['unfrozen', () => unfrozenMessage(freeze, HOSTILE)],
    ['staged list', () => stagedListMessage([{ staged, release: { ...release, state: HOSTILE } as unknown as ReleaseRecord }])],
    ['status', () => statusMessage({ project: 'conjur-cli', staged: [staged], releases: [release], freeze, approvals: [approval] })],
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
            actor: { via: 'slack', conjurLogin: HOSTILE },
            data: { code: HOSTILE, reason: 'refused' },
            prevHash: '0',
            hash: '1',
          },
        ]),
    ],
    ['usage', () => usageMessage(HOSTILE)],
    ['accepted (ack)', () => acceptedMessage(HOSTILE)],
    ['note (plain fallback)', () => noteMessage('a note', HOSTILE)],
  ];

  it.each(cases)('%s', (name, build) => {
    expectInert(name, build());
  });
});

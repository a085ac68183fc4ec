import type { BuildInfo, StagedArtifact } from '../../../src/publishing/types.js';
import { formatDuration } from '../../../src/release/summary.js';
import type { DestinationOutcome, Requester } from '../../../src/release/types.js';
import type { ReleaseState } from '../../../src/store/releases.js';
import { buildLink, buildPlain, commitText, digestLines, digestsPlain } from './build-facts.js';
import { code, context, esc, fields, header, mention, section, type SlackMessage } from './mrkdwn.js';
import { destinationLine } from './release-summary.js';

export interface ProgressView {
  releaseId: string;
  project: string;
  version: string;
  state: ReleaseState;
  build: BuildInfo;
  artifact: StagedArtifact;
  requester: Requester;
  approvers: string[];
  resumeOf: string | null;
  /** Every destination in config order; finished ones carry their outcome. */
  destinations: Array<{ name: string; type?: string; outcome?: DestinationOutcome; running?: boolean }>;
}

const STATE_TEXT: Partial<Record<ReleaseState, string>> = {
  requested: 'requested',
  authorized: 'authorized: preparing',
  verifying: 'verifying the staged artifact against the digests recorded at staging',
  publishing: 'publishing',
};

/** The release's one channel message while it runs; `chat.update` replaces it at each step. */
export function releaseProgressMessage(v: ProgressView): SlackMessage {
  const lines = v.destinations.map((d) =>
    d.outcome
      ? destinationLine(d.outcome)
      : `${d.running ? ':arrows_counterclockwise:' : ':hourglass:'} *${esc(d.name)}*${d.type ? ` [${esc(d.type)}]` : ''}: ${d.running ? 'running' : 'waiting'}`,
  );
  const state = STATE_TEXT[v.state] ?? v.state;
  const done = v.destinations.filter((d) => d.outcome).length;
  return {
    text: esc(
      [
        `Releasing ${v.project} ${v.version} (${state}), requested by ${v.requester.login}${v.approvers.length ? `, approved by ${v.approvers.join(', ')}` : ''}`,
        `build ${buildPlain(v.build)}; ${digestsPlain(v.artifact)}`,
        ...v.destinations.map((d) => `  - ${d.outcome ? `${plainOutcome(d.outcome)}` : `${d.name}: ${d.running ? 'running' : 'waiting'}`}`),
        `release ${v.releaseId}`,
      ].join('\n'),
    ),
    blocks: [
      header(`:arrows_counterclockwise: Releasing ${v.project} ${v.version}`),
      fields([
        ['State', esc(state)],
        ['Build', buildLink(v.build)],
        ['Commit', commitText(v.build)],
        ['Requested by', `${esc(v.requester.login)}${v.requester.chatUserId ? ` (${mention(v.requester.chatUserId)})` : ''}`],
        ...(v.approvers.length ? [['Approved by', v.approvers.map(esc).join(', ')] as const] : []),
      ]),
      section(`*Artifact*\n${digestLines(v.artifact)}`),
      section(`*Destinations* (${done} of ${v.destinations.length} done)\n${lines.join('\n') || '_none_'}`),
      context(
        `release ${code(v.releaseId)}`,
        ...(v.resumeOf ? [`resumes ${code(v.resumeOf)}: only unfinished destinations run`] : []),
        'progress of each destination in the thread',
      ),
    ],
  };
}

/** destinationLine's words without its markup, for a `text` fallback (escape it with the rest). */
function plainOutcome(d: DestinationOutcome): string {
  const what =
    d.status === 'failed'
      ? `failed (${d.error?.code ?? 'error'}): ${d.error?.message ?? ''}`
      : d.plan
        ? `would ${d.plan.join('; ')}`
        : `${d.status}${d.detail && d.status === 'skipped' ? ` (${d.detail})` : ''}`;
  return `${d.name}: ${what} in ${formatDuration(d.durationMs)}${d.attempts > 1 ? ` after ${d.attempts} attempts` : ''}`;
}

export function destinationStartedMessage(e: { destination: string; type: string; attempt: number }): SlackMessage {
  const again = e.attempt > 1 ? ` (attempt ${e.attempt})` : '';
  return {
    text: esc(`${e.destination} [${e.type}]: started${again}`),
    blocks: [section(`:arrow_forward: *${esc(e.destination)}* [${esc(e.type)}]: started${again}`)],
  };
}

export function destinationProgressMessage(e: { destination: string; message: string }): SlackMessage {
  return {
    text: esc(`${e.destination}: ${e.message}`),
    blocks: [context(`*${esc(e.destination)}*: ${esc(e.message)}`)],
  };
}

export function destinationFinishedMessage(outcome: DestinationOutcome): SlackMessage {
  const line = destinationLine(outcome);
  return {
    text: esc(
      `${outcome.name} [${outcome.type}]: ${outcome.status}${outcome.error ? ` (${outcome.error.code}): ${outcome.error.message}` : ''} in ${formatDuration(outcome.durationMs)}${outcome.location ? `\n${outcome.location}` : ''}`,
    ),
    blocks: [section(line + (outcome.location ? `\n${esc(outcome.location)}` : ''))],
  };
}

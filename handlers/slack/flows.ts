import type { Logger } from 'pino';
import type { App, AuditReader, ReleaseReader, StagedReader, YankReader } from '../../src/app.js';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../../src/errors.js';
import type { Approvals } from '../../src/release/approvals.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { DenialRecord, Denials } from '../../src/release/denials.js';
import type { Freezes } from '../../src/release/freeze.js';
import type { Requester } from '../../src/release/types.js';
import type { YankService } from '../../src/release/yank.js';
import type { SlackChat } from './chat.js';
import type { SlackCommand } from './command-parser.js';
import type { SlackOrigin } from './identity.js';
import { errorMessage } from './messages/denial.js';
import { channelRef, code, esc, type SlackMessage } from './messages/mrkdwn.js';
import { frozenMessage, unfrozenMessage } from './messages/notices.js';
import { releaseSummaryMessage } from './messages/release-summary.js';
import { noteMessage } from './messages/usage.js';
import { auditReply, listReply, statusReply } from './queries.js';
import { approvedYankFlow } from './yank-flows.js';

export interface SlackFlowDeps {
  core: ReleaseCore;
  approvals: Approvals;
  freezes: Freezes;
  /** `/release yank` and `rollback`. */
  yanks: YankService;
  /** `/release list` marks the yanked versions; recording yanks is the yank service's. */
  yankRecords: YankReader;
  chat: SlackChat;
  log: Logger;
  /** Refusals made here (identity, audit_group) are audited by the core through this. */
  denials: Denials;
  /** `/release audit` reads the log; writing it is the core's. */
  audit: AuditReader;
  /** `/release list` and the Release button read the staged builds and releases; recording them is the core's. */
  staged: StagedReader;
  releases: ReleaseReader;
  /** `/release status`: the one status of every way in. */
  projectStatus: App['projectStatus'];
  /** The sender of a Slack request to a Conjur login (SlackIdentity.resolve); throws IDENTITY_UNRESOLVED. */
  resolveLogin: (origin: SlackOrigin) => Promise<string>;
}

/** The person behind a command or a click (as the signed request names them), and the private way back to them. */
export interface Asker extends SlackOrigin {
  reply: (message: SlackMessage) => Promise<void>;
}

export type ReadAsk = Extract<SlackCommand, { kind: 'list' | 'status' | 'audit' }>;

export interface ReleaseAsk {
  project: string;
  version: string;
  dryRun: boolean;
  resume: boolean;
  /** Set by a Release button: the staged build the readiness note showed. */
  stagedBuildId?: number | undefined;
}

/**
 * `/release <project> <version>` and the Release button: resolve who asks, then either ask for
 * approvals (two-person rule) or run the release in the core. Runs after the ack; every refusal
 * goes back to the asker only, saying why.
 */
export async function releaseFlow(deps: SlackFlowDeps, asker: Asker, ask: ReleaseAsk): Promise<void> {
  const { core, approvals } = deps;
  try {
    const requester = await identify(deps, asker, ask.dryRun ? 'dry-run' : 'release', ask.project, ask.version);
    // A Release button binds the release to the build its note showed: the core refuses (and audits) any other.
    const expectedStaged = ask.stagedBuildId !== undefined ? { id: ask.stagedBuildId } : undefined;
    if (!ask.dryRun && approvals.required(ask.project)) {
      if (expectedStaged) assertShownStillStaged(deps, asker, requester, ask, expectedStaged.id);
      const { request, created } = await approvals.request(ask.project, ask.version, requester, { resume: ask.resume });
      const where = channelRef(core.config.projects.get(request.project)?.channel ?? core.config.channel);
      await asker.reply(
        created
          ? noteMessage(
              `:raised_hand: ${code(request.project)} ${code(request.version)} needs ${request.needed} approval(s) from members of ${code(request.approverGroup)} other than you. The request is in ${where}; it expires ${esc(request.expiresAt)}.`,
              `Waiting for ${request.needed} approval(s) from ${request.approverGroup}; the request is in the release channel.`,
            )
          : noteMessage(
              `:raised_hand: ${code(request.project)} ${code(request.version)} already waits for approval (asked by ${esc(request.requester.login)}: ${request.approvals.length} of ${request.needed}). See ${where}.`,
              `Already waiting for approval (${request.approvals.length} of ${request.needed}).`,
            ),
      );
      return;
    }
    const summary = await core.release(ask.project, ask.version, requester, { dryRun: ask.dryRun, resume: ask.resume, expectedStaged });
    if (summary.dryRun) {
      await asker.reply(releaseSummaryMessage(summary));
    } else {
      const where = channelRef(core.config.projects.get(summary.project)?.channel ?? core.config.channel);
      await asker.reply(
        noteMessage(
          `${summary.state === 'published' ? ':rocket: Released' : ':x: Release failed:'} ${code(summary.project)} ${code(summary.version)}; the audit summary is in ${where} (audit entry ${code(summary.auditId)}).`,
          `${summary.project} ${summary.version}: ${summary.state}; audit entry ${summary.auditId}.`,
        ),
      );
    }
  } catch (thrown) {
    await asker.reply(errorMessage(toReleaseBotError(thrown)));
  }
}

/**
 * A Release button under a project that needs approvals: the request must be about the build the note
 * showed. TODO(issue 14): goes when `Approvals.request` takes `expectedStaged` and binds it as the core
 * does (src/release/approvals.ts, another engineer's): until then this is the one check left in a handler.
 */
function assertShownStillStaged(deps: SlackFlowDeps, asker: Asker, requester: Requester, ask: ReleaseAsk, shownId: number): void {
  const current = deps.staged.current(ask.project, ask.version);
  if (current?.id === shownId) return;
  const err = new ReleaseBotError(
    ErrorCode.Conflict,
    `this note is about a build of ${ask.project} ${ask.version} that is no longer the staged one${current ? ` (build ${current.build.number ?? '?'} replaced it)` : ''}: use the newest readiness note or /release ${ask.project} ${ask.version}`,
    { details: { reason: 'restaged' } },
  );
  throw deps.denials.deny(err, deniedAt(asker, requester.login, 'release-button', ask.project, ask.version));
}

/** The Approve button. The approval that completes the set starts the release (or the yank) as its requester. */
export async function approveFlow(deps: SlackFlowDeps, asker: Asker, requestId: string): Promise<void> {
  try {
    const known = deps.approvals.get(requestId);
    const approver = await identify(deps, asker, 'approve', known?.project ?? '-', known?.version ?? '-');
    const result = await deps.approvals.approve(requestId, approver);
    const r = result.request;
    if (result.status === 'recorded') {
      await asker.reply(
        noteMessage(
          `:white_check_mark: Your approval of ${r.action === 'yank' ? 'the yank of ' : ''}${code(r.project)} ${code(r.version)} is recorded (${r.approvals.length} of ${r.needed}).`,
          `Approval recorded (${r.approvals.length} of ${r.needed}).`,
        ),
      );
      return;
    }
    if (result.status === 'yanking') return await approvedYankFlow(deps, asker, r, result.yank);
    await asker.reply(
      noteMessage(
        `:white_check_mark: Your approval completes the set: ${code(r.project)} ${code(r.version)} is being released as ${esc(r.requester.login)}.`,
        `Approved: the release of ${r.project} ${r.version} runs now.`,
      ),
    );
    try {
      await result.release;
    } catch (thrown) {
      // The core refused after all (e.g. frozen meanwhile): the approvers learn why; the channel still shows the request.
      const err = toReleaseBotError(thrown);
      await asker.reply(errorMessage(err));
      const channel = deps.core.config.projects.get(r.project)?.channel ?? deps.core.config.channel;
      await deps.chat.post(
        channel,
        noteMessage(
          `:x: The approved release of ${code(r.project)} ${code(r.version)} was refused: ${esc(err.message)}`,
          `The approved release of ${r.project} ${r.version} was refused: ${err.message}`,
        ),
      );
    }
  } catch (thrown) {
    await asker.reply(errorMessage(toReleaseBotError(thrown)));
  }
}

export async function lockFlow(deps: SlackFlowDeps, asker: Asker, project: string, reason: string): Promise<void> {
  try {
    const who = await identify(deps, asker, 'lock', project, '-');
    const freeze = await deps.freezes.lock(project, reason, who);
    const message = frozenMessage(freeze);
    await deps.chat.post(deps.core.project(project).channel, message);
    await asker.reply(message);
  } catch (thrown) {
    await asker.reply(errorMessage(toReleaseBotError(thrown)));
  }
}

export async function unlockFlow(deps: SlackFlowDeps, asker: Asker, project: string): Promise<void> {
  try {
    const who = await identify(deps, asker, 'unlock', project, '-');
    const lifted = await deps.freezes.unlock(project, who);
    const message = unfrozenMessage(lifted, who.login);
    await deps.chat.post(deps.core.project(project).channel, message);
    await asker.reply(message);
  } catch (thrown) {
    await asker.reply(errorMessage(toReleaseBotError(thrown)));
  }
}

/**
 * `/release list|status|audit`: only for a resolved user (they show Conjur logins, groups, denials,
 * digests and open approvals); `audit` also needs `audit_group` membership when one is configured.
 */
export async function readFlow(deps: SlackFlowDeps, asker: Asker, ask: ReadAsk): Promise<void> {
  const { core } = deps;
  const project = ask.project ?? '-';
  const version = ask.kind === 'status' ? (ask.version ?? '-') : '-';
  try {
    const who = await identify(deps, asker, ask.kind, project, version);
    if (ask.kind === 'audit' && core.config.auditGroup) await assertAuditReader(deps, asker, who, core.config.auditGroup, project);
    const message =
      ask.kind === 'list'
        ? listReply(deps, ask.project, deps.yankRecords)
        : ask.kind === 'status'
          ? statusReply(deps, ask.project, ask.version)
          : auditReply(core, deps.audit, ask.project, ask.limit);
    await asker.reply(message);
  } catch (thrown) {
    await asker.reply(errorMessage(toReleaseBotError(thrown)));
  }
}

/** Fail closed (the core's membership check): any doubt is a refusal, and the core audits every refusal. */
function assertAuditReader(deps: SlackFlowDeps, asker: Asker, who: Requester, group: string, project: string): Promise<void> {
  return deps.denials.assertMember(
    who,
    group,
    `${who.login} is not a member of the Conjur group ${group}, whose members may read the audit log (audit_group)`,
    deniedAt(asker, who.login, 'audit', project, '-'),
  );
}

/** Slack user to requester; a user the identity strategy cannot resolve is refused, and that is audited. */
export async function identify(deps: SlackFlowDeps, asker: Asker, action: string, project: string, version: string): Promise<Requester> {
  try {
    const login = await deps.resolveLogin(asker);
    return { login, via: 'slack', chatUserId: asker.userId };
  } catch (thrown) {
    const err = deps.denials.deny(toReleaseBotError(thrown), deniedAt(asker, undefined, action, project, version));
    deps.log.warn({ user: asker.userId, action, code: err.code }, 'Slack user refused: identity unresolved');
    throw err;
  }
}

/** How the audit records a refusal of a Slack request: who clicked or typed, which action, on what. */
function deniedAt(asker: Asker, login: string | undefined, action: string, project: string, version: string): DenialRecord {
  return {
    project,
    version,
    actor: { via: 'slack', chatUserId: asker.userId, ...(login ? { conjurLogin: login } : {}) },
    data: { action },
  };
}

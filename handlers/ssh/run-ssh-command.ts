import { exitCodes, type ErrorCode } from '../../src/errors.js';
import type { App } from '../../src/app.js';
import { statusText } from '../../src/release/status.js';
import { summaryText } from '../../src/release/summary.js';
import { yankSummaryText } from '../../src/release/yank-summary.js';
import type { SshRequest } from './parse-command.js';

export interface SshOutput {
  stdout: (text: string) => void;
}

/**
 * Runs a parsed forced command as `login` (the identity the authorized_keys line names, never one
 * the client sends). Every command goes through the release core, so the ssh path gets exactly the
 * checks the CLI and Slack get. Returns the exit code; refusals throw coded errors.
 */
export async function runSshRequest(app: App, login: string, request: SshRequest, out: SshOutput): Promise<number> {
  const { core } = app;
  switch (request.command) {
    case 'publish': {
      const summary = await core.release(request.project, request.version, { login, via: 'ssh' });
      out.stdout(`${summaryText(summary)}\n`);
      if (summary.state !== 'failed') return 0;
      const code = summary.error?.code as ErrorCode | undefined;
      return code && exitCodes[code] ? exitCodes[code] : 1;
    }
    case 'yank': {
      const summary = await app.yanks.yank(request.project, request.version, request.reason, { login, via: 'ssh' });
      out.stdout(`${yankSummaryText(summary)}\n`);
      if (summary.state !== 'failed') return 0;
      const code = summary.error?.code as ErrorCode | undefined;
      return code && exitCodes[code] ? exitCodes[code] : 1;
    }
    case 'stage': {
      const project = core.project(request.project);
      const actor = { via: 'ssh', conjurLogin: login };
      // Staging replaces what a release would publish, and a forced-command key carries no other
      // proof of who holds it: over ssh only members of the project's group may stage. Any doubt
      // (Conjur down) refuses, and the core audits the refusal like every other.
      await app.denials.assertMember(
        { login, via: 'ssh' },
        project.authorized_group,
        `${login} is not a member of the Conjur group ${project.authorized_group}, which may stage and release ${project.name}`,
        {
          type: 'stage-refused',
          project: request.project,
          version: request.version ?? null,
          actor,
          data: { reportedBy: `ssh:${login}` },
        },
      );
      const result = await core.stage({
        project: request.project,
        version: request.version,
        build: { number: request.buildNumber, url: request.buildUrl, commit: request.commit },
        reportedBy: `ssh:${login}`,
        actor,
      });
      const a = result.staged.artifact;
      out.stdout(`${result.outcome}: ${request.project} ${request.version}\n`);
      if (a.kind === 'files') for (const f of a.files) out.stdout(`  ${f.sha256}  ${f.path}\n`);
      else out.stdout(`  ${a.ref}@${a.digest}\n`);
      return 0;
    }
    case 'status': {
      out.stdout(statusText(app.projectStatus(request.project, request.version)));
      return 0;
    }
  }
}

import { z } from '../../src/config/zod.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { BuildInfo } from '../../src/publishing/types.js';
import type { ReportedFile } from '../../src/staging/quarantine.js';
import { jobFullName } from './job-name.js';
import { safeText } from './safe-text.js';

/**
 * The two report formats the webhook reads: the bot's own (what `release-bot notify` sends) and the
 * Jenkins Notification plugin's. Both become one `BuildReport`; a Notification report of anything but
 * a successful final phase becomes `ignored`.
 */

const httpUrl = z
  .string()
  .max(2048)
  .refine((s) => {
    try {
      const u = new URL(s);
      return u.protocol === 'https:' || u.protocol === 'http:';
    } catch {
      return false;
    }
  }, 'must be an http(s) URL');
// Shown in chat and stored: a plain token, never markup. Git SHAs, SVN revisions and the like fit.
const commit = z.string().regex(/^[0-9A-Za-z._-]{1,64}$/, 'must be a commit id (letters, digits, ".", "_", "-")');

const botBuild = z.strictObject({
  job: z.string().min(1).max(1024).optional(),
  number: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER).optional(),
  url: httpUrl.optional(),
  commit: commit.optional(),
});

export const botReportSchema = z.strictObject({
  project: z.string().min(1).max(100),
  version: z.string().min(1).max(100),
  build: botBuild.default({}),
  artifacts: z
    .array(z.strictObject({ path: z.string().min(1).max(1024), sha256: z.string().regex(/^[0-9a-fA-F]{64}$/, 'must be 64 hex digits') }))
    .min(1)
    .max(1000)
    .optional(),
  image: z
    .strictObject({
      ref: z.string().min(1).max(512),
      digest: z
        .string()
        .regex(/^sha256:[0-9a-f]{64}$/, 'must be sha256:<64 hex>')
        .optional(),
    })
    .optional(),
});
export type BotReport = z.infer<typeof botReportSchema>;

export const notificationSchema = z.looseObject({
  name: z.string().min(1).max(1024),
  url: z.string().max(2048).optional(),
  build: z.looseObject({
    number: z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER),
    phase: z.string().min(1).max(40),
    status: z.string().max(40).nullish(),
    full_url: httpUrl.nullish(),
    scm: z.looseObject({ commit: commit.nullish(), branch: z.string().max(300).nullish() }).nullish(),
    parameters: z.record(z.string().max(200), z.unknown()).nullish(),
  }),
});
export type NotificationReport = z.infer<typeof notificationSchema>;

/** A report in either format, before its project's settings (version parameter) are applied. */
export interface BuildReport {
  format: 'release-bot' | 'notification';
  /** Named by the bot's format; the Notification format names only the job. */
  project?: string | undefined;
  /** The job as the payload names it (full name), when it does. */
  job?: string | undefined;
  /** The bot's format carries it; the Notification format carries it in a build parameter. */
  version?: string | undefined;
  parameters?: Record<string, unknown> | undefined;
  build: BuildInfo;
  files?: ReportedFile[] | undefined;
  image?: { ref: string; digest?: string | undefined } | undefined;
}

export type ParsedReport = { kind: 'report'; report: BuildReport } | { kind: 'ignored'; reason: string };

/** Only these phases and status mean "the build is done and good"; STARTED even carries the previous build's status. */
const FINAL_PHASES = new Set(['COMPLETED', 'FINALIZED']);

export function parseReport(body: unknown): ParsedReport {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw malformed('the body must be a JSON object');
  if ('project' in body) {
    const r = check(botReportSchema, body, 'release-bot');
    const job = r.build.job === undefined ? undefined : jobFullName(r.build.job);
    if (r.build.job !== undefined && job === undefined) throw malformed('build.job is not a Jenkins job name or job URL');
    return {
      kind: 'report',
      report: {
        format: 'release-bot',
        project: r.project,
        version: r.version,
        job,
        build: { job, number: r.build.number, url: r.build.url, commit: r.build.commit },
        files: r.artifacts?.map((a) => ({ path: a.path, sha256: a.sha256.toLowerCase() })),
        image: r.image,
      },
    };
  }
  if ('name' in body && 'build' in body) {
    const n = check(notificationSchema, body, 'Notification plugin');
    const phase = n.build.phase.toUpperCase();
    const status = (n.build.status ?? '').toUpperCase();
    if (!FINAL_PHASES.has(phase) || status !== 'SUCCESS') {
      return {
        kind: 'ignored',
        reason: `phase ${safeText(phase, 20)}${status ? ` with status ${safeText(status, 20)}` : ''}: only a COMPLETED or FINALIZED build with status SUCCESS is staged`,
      };
    }
    // The url carries the folders (`job/team/job/conjur-cli/`); the name alone is only the last part.
    const job = (n.url ? jobFullName(n.url) : undefined) ?? jobFullName(n.name);
    if (job === undefined) throw malformed('name/url do not name a Jenkins job');
    if (n.url && job.split('/').pop() !== n.name && job !== n.name) throw malformed('name is not the name of the job at url');
    return {
      kind: 'report',
      report: {
        format: 'notification',
        job,
        parameters: n.build.parameters ?? {},
        build: { job, number: n.build.number, url: n.build.full_url ?? undefined, commit: n.build.scm?.commit ?? undefined },
      },
    };
  }
  throw malformed(
    'the body is neither a release-bot report ({"project", "version", "build", "artifacts" | "image"}) nor a Jenkins Notification plugin report ({"name", "url", "build"})',
  );
}

function check<T>(schema: z.ZodType<T>, body: unknown, format: string): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 20).map((i) => `${formatPath(i.path)}: ${safeText(i.message, 160)}`);
  throw malformed(`the ${format} report is malformed: ${issues.join('; ')}`, issues);
}

function malformed(message: string, issues: string[] = []): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.BadInput, message, { details: { issues } });
}

/** `build.number`, `artifacts[0].sha256`; hostile keys are clipped and stripped of control characters. */
function formatPath(p: readonly PropertyKey[]): string {
  if (p.length === 0) return '(top level)';
  return p.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : `${i === 0 ? '' : '.'}${safeText(String(seg), 40)}`)).join('');
}

/** The options of `release-bot notify` and of the single file, and the single file's --help (only `node:` imports here). */
import { NotifyError } from './errors.mjs';

export interface NotifyOptions {
  url: string;
  project: string;
  version: string;
  job?: string;
  buildNumber?: number;
  buildUrl?: string;
  commit?: string;
  base?: string;
  image?: string;
  imageDigest?: string;
  timeout: number;
  retries: number;
  json?: boolean;
}

export interface NotifyOptionSpec {
  /** Commander's flags; the long name is also the single file's. */
  flags: string;
  key: keyof NotifyOptions;
  description: string;
  kind: 'string' | 'count' | 'boolean';
  required?: boolean;
  default?: number;
}

export const NOTIFY_DESCRIPTION =
  'tell release-bot (from Jenkins) that a build is staged: hashes FILE..., signs a short-lived token with JENKINS_JWT_SECRET, posts; exits 0 only when staged';
export const NOTIFY_FILES = {
  name: '[files...]',
  description: 'the artifacts as copied to <staging_dir>/<project>/<version>/ (hashed here, streamed)',
} as const;

/** The options of both forms, in help order: one table, so the two cannot drift apart. */
export const NOTIFY_OPTIONS: readonly NotifyOptionSpec[] = [
  {
    flags: '--url <url>',
    key: 'url',
    kind: 'string',
    required: true,
    description: 'the bot, e.g. https://release.example.com (POST <url>/webhooks/jenkins)',
  },
  { flags: '--project <p>', key: 'project', kind: 'string', required: true, description: 'the project' },
  { flags: '--version <v>', key: 'version', kind: 'string', required: true, description: 'the version' },
  {
    flags: '--job <name>',
    key: 'job',
    kind: 'string',
    description: 'the reporting Jenkins job (token sub; default: $JOB_NAME, else the project)',
  },
  { flags: '--build-number <n>', key: 'buildNumber', kind: 'count', description: 'Jenkins build number (default: $BUILD_NUMBER)' },
  { flags: '--build-url <url>', key: 'buildUrl', kind: 'string', description: 'Jenkins build URL (default: $BUILD_URL)' },
  { flags: '--commit <sha>', key: 'commit', kind: 'string', description: 'source commit (default: $GIT_COMMIT)' },
  {
    flags: '--base <dir>',
    key: 'base',
    kind: 'string',
    description: "report paths relative to this directory (default: each file's base name)",
  },
  { flags: '--image <ref>', key: 'image', kind: 'string', description: 'docker projects: the image pushed to the staging registry' },
  {
    flags: '--image-digest <digest>',
    key: 'imageDigest',
    kind: 'string',
    description: 'docker projects: its manifest digest (sha256:...)',
  },
  {
    flags: '--timeout <seconds>',
    key: 'timeout',
    kind: 'count',
    default: 600,
    description: 'how long to wait for the bot (it hashes the staged files before answering)',
  },
  {
    flags: '--retries <n>',
    key: 'retries',
    kind: 'count',
    default: 4,
    description: 'tries again this many times after a connection reset or a 5xx (1, 2, 4 s... apart); a 4xx is final',
  },
  { flags: '--json', key: 'json', kind: 'boolean', description: "print the bot's answer as JSON" },
];

/** A whole number (0 included), as the CLI's options take them; `what` names it in the error. */
export function wholeNumber(v: string, what: string): number {
  const n = Number(v);
  if (v.trim() === '' || !Number.isSafeInteger(n) || n < 0)
    throw new NotifyError('BAD_INPUT', `${what}: ${JSON.stringify(v.slice(0, 40))} is not a whole number`);
  return n;
}

/** An option's long name without its dashes (`--build-number` -> `build-number`): the single file's parseArgs key. */
export const longName = (spec: NotifyOptionSpec) => (/^--([a-z-]+)/.exec(spec.flags) as RegExpExecArray)[1] as string;

/** The single file's --help: what commander prints for `release-bot notify --help`. */
export function usage(): string {
  const rows = NOTIFY_OPTIONS.map((spec) => [
    `${spec.flags}`,
    `${spec.description}${spec.default === undefined ? '' : ` (default: ${spec.default})`}`,
  ]);
  rows.push(['-h, --help', 'display help for command']);
  const width = Math.max(...rows.map(([flags]) => (flags as string).length)) + 2;
  return [
    `Usage: release-bot-notify.mjs [options] ${NOTIFY_FILES.name}`,
    '',
    NOTIFY_DESCRIPTION,
    '',
    'Arguments:',
    `  ${'files'.padEnd(width)}${NOTIFY_FILES.description}`,
    '',
    'Options:',
    ...rows.map(([flags, text]) => `  ${(flags as string).padEnd(width)}${text}`),
    '',
  ].join('\n');
}

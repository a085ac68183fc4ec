#!/usr/bin/env node
/**
 * `release-bot notify`, the Jenkins side of the webhook, as one file a build agent runs with Node 20 and
 * nothing else: `node release-bot-notify.mjs --url ... FILE...` (the package's
 * dist/handlers/cli/release-bot-notify.mjs, copied alone). Only `node:` imports, so it needs no
 * node_modules; `release-bot notify` runs this same code. Exit codes are the CLI's (README "CLI").
 */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { constants, realpathSync } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

/** How long the token `notify` signs stays valid: enough for the request, useless soon after. */
const TOKEN_LIFETIME_SEC = 300;
/** The bot refuses a shorter JENKINS_JWT_SECRET (src/config/env-checks.ts). */
const MIN_SECRET_LENGTH = 32;

/**
 * The exit code of each error code, as src/errors.ts `exitCodes` has them (this file cannot import it;
 * test/jenkins/notify-single-file.test.ts checks that they agree).
 */
export const EXIT_CODES: Readonly<Record<string, number>> = {
  CONFIG_INVALID: 78,
  BAD_INPUT: 64,
  UNKNOWN_PROJECT: 64,
  NOT_STAGED: 66,
  IDENTITY_UNRESOLVED: 77,
  NOT_AUTHORIZED: 77,
  IN_PROGRESS: 75,
  ALREADY_RELEASED: 73,
  FROZEN: 75,
  APPROVAL_PENDING: 75,
  ARTIFACT_MISMATCH: 65,
  CONJUR_UNAVAILABLE: 69,
  CONJUR_AUTH_FAILED: 69,
  CONJUR_FORBIDDEN: 77,
  CONJUR_NOT_FOUND: 69,
  MEMBERSHIP_UNDETERMINED: 78,
  DESTINATION_FAILED: 1,
  DESTINATION_CONFLICT: 1,
  EXEC_FAILED: 1,
  TIMEOUT: 1,
  WEBHOOK_UNAUTHENTICATED: 77,
  WEBHOOK_FORBIDDEN: 77,
  CONFLICT: 73,
  NOT_FOUND: 66,
  INTERNAL: 70,
};

/** A failure before or while reporting, with the error code the CLI renders (`[CODE]`, its exit code). */
export class NotifyError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NotifyError';
    this.code = code;
  }
}

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

export interface NotifyIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Error code -> exit code, for the bot's answers. */
  exitCodes: Readonly<Record<string, number>>;
}

const processIo: NotifyIo = {
  env: process.env,
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  exitCodes: EXIT_CODES,
};

/**
 * Hashes the files (or names the image), signs a fresh HS256 token per attempt and posts the report;
 * returns the exit code: 0 only when the bot staged the build (now or already). Throws NotifyError
 * when it cannot report at all.
 */
export async function notify(files: string[], o: NotifyOptions, io: NotifyIo = processIo): Promise<number> {
  const secret = io.env.JENKINS_JWT_SECRET;
  if (!secret)
    throw new NotifyError(
      'CONFIG_INVALID',
      'JENKINS_JWT_SECRET is not set: bind the shared secret from Jenkins credentials (withCredentials) before calling notify',
    );
  if (secret.length < MIN_SECRET_LENGTH)
    throw new NotifyError(
      'CONFIG_INVALID',
      `JENKINS_JWT_SECRET is shorter than ${MIN_SECRET_LENGTH} characters: the bot refuses such a secret`,
    );
  if (files.length > 0 && o.image) throw new NotifyError('BAD_INPUT', 'give files or --image, not both');
  if (files.length === 0 && !o.image) throw new NotifyError('BAD_INPUT', 'name the staged files (or --image for a docker project)');
  const endpoint = webhookUrl(o.url, io);

  const job = o.job ?? io.env.JOB_NAME ?? o.project;
  const buildNumber = o.buildNumber ?? (io.env.BUILD_NUMBER ? wholeNumber(io.env.BUILD_NUMBER, 'BUILD_NUMBER') : undefined);
  const report = {
    project: o.project,
    version: o.version,
    build: dropUndefined({ job, number: buildNumber, url: o.buildUrl ?? io.env.BUILD_URL, commit: o.commit ?? io.env.GIT_COMMIT }),
    ...(o.image ? { image: dropUndefined({ ref: o.image, digest: o.imageDigest }) } : { artifacts: await digests(files, o.base) }),
  };
  const body = Buffer.from(JSON.stringify(report), 'utf8');
  const bodySha256 = createHash('sha256').update(body).digest('hex');
  // A fresh token (a new single-use jti) for every attempt: the bot may have taken the last one's.
  const sign = () => {
    const now = Math.floor(Date.now() / 1000);
    return signHs256(
      {
        body_sha256: bodySha256,
        iat: now,
        exp: now + TOKEN_LIFETIME_SEC,
        aud: io.env.JENKINS_JWT_AUDIENCE || 'release-bot',
        ...(io.env.JENKINS_JWT_ISSUER ? { iss: io.env.JENKINS_JWT_ISSUER } : {}),
        sub: job,
        jti: randomUUID(),
      },
      secret,
    );
  };
  const { status, text } = await postReport(endpoint, body, sign, o, io);
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    const shown = text.trim();
    throw new NotifyError(
      'INTERNAL',
      `release-bot answered HTTP ${status} with something that is not JSON: ${shown.length > 200 ? `${shown.slice(0, 200)}…` : shown}`,
    );
  }
  if (o.json) io.stdout(`${JSON.stringify({ httpStatus: status, ...answer }, null, 2)}\n`);
  return printAnswer(status, answer, !o.json, io);
}

/** A compact JWT, HS256 (RFC 7515/7519): what jsonwebtoken's sign makes with a string secret. */
export function signHs256(claims: Record<string, unknown>, secret: string): string {
  const part = (value: unknown) => Buffer.from(JSON.stringify(value), 'utf8').toString('base64url');
  const input = `${part({ alg: 'HS256', typ: 'JWT' })}.${part(claims)}`;
  return `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
}

/**
 * Posts the report, again after a connection reset or a 5xx, `o.retries` times with a doubling pause:
 * a report is idempotent (the same build staged twice changes nothing), and a reset is what a client
 * gets that reuses a keep-alive connection the server or a proxy is closing. A 4xx is the bot's
 * final word; no answer within --timeout is not retried (the bot may still be hashing).
 */
async function postReport(
  endpoint: URL,
  body: Buffer,
  sign: () => string,
  o: NotifyOptions,
  io: NotifyIo,
): Promise<{ status: number; text: string }> {
  for (let attempt = 1; ; attempt++) {
    let why: string;
    try {
      const res = await fetch(endpoint, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${sign()}` },
        body,
        redirect: 'error',
        signal: AbortSignal.timeout(o.timeout * 1000),
      });
      const text = await res.text();
      if (res.status < 500 || attempt > o.retries) return { status: res.status, text };
      why = `HTTP ${res.status}`;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      const timedOut = e.name === 'TimeoutError';
      why = timedOut ? `no answer within ${o.timeout} s` : (e.cause?.code ?? e.message);
      if (timedOut || attempt > o.retries)
        throw new NotifyError('TIMEOUT', `cannot reach release-bot at ${endpoint.origin}: ${why}`, { cause: err });
    }
    const pause = 1000 * 2 ** (attempt - 1);
    io.stderr(`release-bot: ${why} from ${endpoint.origin}; trying again in ${pause / 1000} s (${attempt} of ${o.retries} retries)\n`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** Prints the answer; the exit code is 0 only when the build is staged (now or already). */
function printAnswer(status: number, a: Record<string, unknown>, human: boolean, io: NotifyIo): number {
  const staged = (status === 202 || status === 200) && ['staged', 'replaced', 'unchanged'].includes(String(a.status));
  if (staged) {
    if (human) {
      io.stdout(`${String(a.status)}: ${String(a.project)} ${String(a.version)}\n`);
      const d = a.digests as { files?: { path: string; sha256: string }[]; ref?: string; digest?: string } | undefined;
      if (d?.files) for (const f of d.files) io.stdout(`  ${f.sha256}  ${f.path}\n`);
      else if (d?.ref) io.stdout(`  ${d.ref}@${d.digest}\n`);
    }
    return 0;
  }
  const code = typeof a.code === 'string' && Object.hasOwn(io.exitCodes, a.code) ? a.code : undefined;
  const lines = [`release-bot: HTTP ${status}: ${String(a.error ?? a.reason ?? a.status ?? 'no answer')}${code ? ` [${code}]` : ''}`];
  for (const key of ['issues', 'problems'] as const)
    if (Array.isArray(a[key])) for (const p of a[key] as unknown[]) lines.push(`  - ${String(p)}`);
  io.stderr(`${lines.join('\n')}\n`);
  return code ? (io.exitCodes[code] ?? 1) : 1;
}

/**
 * The path a file is reported under, as the bot accepts it (src/staging/scan.ts assertSafeRelativePath,
 * which the bot applies again: this is only the early, local refusal).
 */
function safeRelativePath(p: string): string {
  const bad = (why: string) => new NotifyError('BAD_INPUT', `artifact path ${JSON.stringify(p.slice(0, 120))} ${why}`);
  if (p.length === 0 || p.length > 1024) throw bad('must be a non-empty relative path');
  if (p.includes('\0') || p.includes('\\')) throw bad('contains a NUL or a backslash');
  if (path.posix.isAbsolute(p)) throw bad("is absolute: paths are relative to the version's staging directory");
  if (p.split('/').some((s) => s === '..' || s === '.' || s === ''))
    throw bad('escapes or wanders in the staging directory ("..", "." or an empty segment)');
  return p;
}

/** sha256 of each file, streamed; the path reported is the one the file has in the staging directory. */
async function digests(files: string[], base: string | undefined): Promise<{ path: string; sha256: string }[]> {
  const out: { path: string; sha256: string }[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const rel = safeRelativePath(
      base === undefined ? path.basename(file) : path.relative(path.resolve(base), path.resolve(file)).split(path.sep).join('/'),
    );
    if (seen.has(rel)) throw new NotifyError('BAD_INPUT', `${rel} is named twice`);
    seen.add(rel);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new NotifyError('BAD_INPUT', `${file} is not a readable file`);
    try {
      out.push({ path: rel, sha256: await sha256File(file) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new NotifyError(
        'BAD_INPUT',
        `${file} cannot be hashed (${code === 'ELOOP' ? 'it is a symlink: name the file itself' : (code ?? (err as Error).message)})`,
      );
    }
  }
  return out;
}

/** sha256 (hex) of a file, streamed, never through a symlink (src/staging/hash.ts sha256File). */
async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW);
  await pipeline(handle.createReadStream({ highWaterMark: 1 << 20 }), hash);
  return hash.digest('hex');
}

function webhookUrl(base: string, io: NotifyIo): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new NotifyError(
      'BAD_INPUT',
      `--url ${JSON.stringify(base.length > 80 ? `${base.slice(0, 80)}…` : base)} is not a URL: use e.g. https://release.example.com`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new NotifyError('BAD_INPUT', '--url must be http(s)');
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    io.stderr('release-bot: warning: --url is plain http: the report and its token cross the network unencrypted (use https)\n');
  }
  if (!url.pathname.replace(/\/+$/, '').endsWith('/webhooks/jenkins'))
    url.pathname = `${url.pathname.replace(/\/+$/, '')}/webhooks/jenkins`;
  return url;
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

const longName = (spec: NotifyOptionSpec) => (/^--([a-z-]+)/.exec(spec.flags) as RegExpExecArray)[1] as string;

function usage(): string {
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

/** The single file's command line: the same options and answers as `release-bot notify`. */
export async function main(argv: string[], io: NotifyIo = processIo): Promise<number> {
  try {
    let parsed: ReturnType<typeof parseArgs>;
    try {
      parsed = parseArgs({
        args: argv,
        allowPositionals: true,
        strict: true,
        options: {
          ...Object.fromEntries(
            NOTIFY_OPTIONS.map((spec) => [longName(spec), { type: spec.kind === 'boolean' ? ('boolean' as const) : ('string' as const) }]),
          ),
          help: { type: 'boolean', short: 'h' },
        },
      });
    } catch (err) {
      throw new NotifyError('BAD_INPUT', `${(err as Error).message} (see --help)`);
    }
    if (parsed.values.help) {
      io.stdout(usage());
      return 0;
    }
    const options: Record<string, unknown> = {};
    for (const spec of NOTIFY_OPTIONS) {
      const raw = parsed.values[longName(spec)];
      if (raw === undefined) {
        if (spec.required) throw new NotifyError('BAD_INPUT', `required option '${spec.flags}' not specified (see --help)`);
        if (spec.default !== undefined) options[spec.key] = spec.default;
      } else {
        options[spec.key] = spec.kind === 'count' ? wholeNumber(String(raw), `--${longName(spec)}`) : raw;
      }
    }
    return await notify(parsed.positionals, options as unknown as NotifyOptions, io);
  } catch (err) {
    const coded = err instanceof NotifyError ? err : new NotifyError('INTERNAL', err instanceof Error ? err.message : String(err));
    io.stderr(`release-bot: ${coded.message} [${coded.code}]\n`);
    return EXIT_CODES[coded.code] ?? 1;
  }
}

/** Run as a program (not imported by `release-bot notify`): node resolves the symlink of an npm bin. */
function isMain(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return pathToFileURL(realpathSync(script)).href === import.meta.url;
  } catch {
    return false;
  }
}

if (isMain()) process.exitCode = await main(process.argv.slice(2));

import { createHash, randomUUID } from 'node:crypto';
import { stat } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import jwt from 'jsonwebtoken';
import { ErrorCode, exitCodes, ReleaseBotError } from '../../../src/errors.js';
import { sha256File } from '../../../src/staging/hash.js';
import { assertSafeRelativePath } from '../../../src/staging/scan.js';
import { clip } from '../../../src/validate.js';
import { action, positiveInt } from '../run.js';

/** How long the token `notify` signs stays valid: enough for the request, useless soon after. */
const TOKEN_LIFETIME_SEC = 300;
const MIN_SECRET_LENGTH = 32;

interface NotifyOptions {
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

export function registerNotify(program: Command): void {
  program
    .command('notify')
    .description('tell release-bot (from Jenkins) that a build is staged: hashes FILE..., signs a short-lived token with JENKINS_JWT_SECRET, posts; exits 0 only when staged')
    .argument('[files...]', 'the artifacts as copied to <staging_dir>/<project>/<version>/ (hashed here, streamed)')
    .requiredOption('--url <url>', 'the bot, e.g. https://release.example.com (POST <url>/webhooks/jenkins)')
    .requiredOption('--project <p>', 'the project')
    .requiredOption('--version <v>', 'the version')
    .option('--job <name>', 'the reporting Jenkins job (token sub; default: $JOB_NAME, else the project)')
    .option('--build-number <n>', 'Jenkins build number (default: $BUILD_NUMBER)', positiveInt)
    .option('--build-url <url>', 'Jenkins build URL (default: $BUILD_URL)')
    .option('--commit <sha>', 'source commit (default: $GIT_COMMIT)')
    .option('--base <dir>', 'report paths relative to this directory (default: each file\'s base name)')
    .option('--image <ref>', 'docker projects: the image pushed to the staging registry')
    .option('--image-digest <digest>', 'docker projects: its manifest digest (sha256:...)')
    .option('--timeout <seconds>', 'how long to wait for the bot (it hashes the staged files before answering)', positiveInt, 600)
    .option('--retries <n>', 'tries again this many times after a connection reset or a 5xx (1, 2, 4 s... apart); a 4xx is final', positiveInt, 4)
    .option('--json', 'print the bot\'s answer as JSON')
    .action(action(async (files: string[], o: NotifyOptions) => notify(files, o)));
}

async function notify(files: string[], o: NotifyOptions): Promise<number> {
  const secret = process.env.JENKINS_JWT_SECRET;
  if (!secret) throw new ReleaseBotError(ErrorCode.ConfigInvalid, 'JENKINS_JWT_SECRET is not set: bind the shared secret from Jenkins credentials (withCredentials) before calling notify');
  if (secret.length < MIN_SECRET_LENGTH) throw new ReleaseBotError(ErrorCode.ConfigInvalid, `JENKINS_JWT_SECRET is shorter than ${MIN_SECRET_LENGTH} characters: the bot refuses such a secret`);
  if (files.length > 0 && o.image) throw new ReleaseBotError(ErrorCode.BadInput, 'give files or --image, not both');
  if (files.length === 0 && !o.image) throw new ReleaseBotError(ErrorCode.BadInput, 'name the staged files (or --image for a docker project)');

  const job = o.job ?? process.env.JOB_NAME ?? o.project;
  const buildNumber = o.buildNumber ?? (process.env.BUILD_NUMBER ? positiveInt(process.env.BUILD_NUMBER) : undefined);
  const report = {
    project: o.project,
    version: o.version,
    build: dropUndefined({ job, number: buildNumber, url: o.buildUrl ?? process.env.BUILD_URL, commit: o.commit ?? process.env.GIT_COMMIT }),
    ...(o.image ? { image: dropUndefined({ ref: o.image, digest: o.imageDigest }) } : { artifacts: await digests(files, o.base) }),
  };
  const body = Buffer.from(JSON.stringify(report), 'utf8');
  // A fresh token (a new single-use jti) for every attempt: the bot may have taken the last one's.
  const sign = () =>
    jwt.sign({ body_sha256: createHash('sha256').update(body).digest('hex') }, secret, {
      algorithm: 'HS256',
      subject: job,
      audience: process.env.JENKINS_JWT_AUDIENCE || 'release-bot',
      ...(process.env.JENKINS_JWT_ISSUER ? { issuer: process.env.JENKINS_JWT_ISSUER } : {}),
      jwtid: randomUUID(),
      expiresIn: TOKEN_LIFETIME_SEC,
    });
  const { status, text } = await postReport(webhookUrl(o.url), body, sign, o);
  let answer: Record<string, unknown>;
  try {
    answer = JSON.parse(text) as Record<string, unknown>;
  } catch {
    throw new ReleaseBotError(ErrorCode.Internal, `release-bot answered HTTP ${status} with something that is not JSON: ${clip(text.trim(), 200)}`);
  }
  if (o.json) process.stdout.write(`${JSON.stringify({ httpStatus: status, ...answer }, null, 2)}\n`);
  return printAnswer(status, answer, !o.json);
}

/**
 * Posts the report, again after a connection reset or a 5xx, `o.retries` times with a doubling pause:
 * a report is idempotent (the same build staged twice changes nothing), and a reset is what a client
 * gets that reuses a keep-alive connection the server or a proxy is closing. A 4xx is the bot's
 * final word; no answer within --timeout is not retried (the bot may still be hashing).
 */
async function postReport(endpoint: URL, body: Buffer, sign: () => string, o: NotifyOptions): Promise<{ status: number; text: string }> {
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
      if (timedOut || attempt > o.retries) {
        throw new ReleaseBotError(ErrorCode.Timeout, `cannot reach release-bot at ${endpoint.origin}: ${why}`, { retryable: true, cause: err });
      }
    }
    const pause = 1000 * 2 ** (attempt - 1);
    process.stderr.write(`release-bot: ${why} from ${endpoint.origin}; trying again in ${pause / 1000} s (${attempt} of ${o.retries} retries)\n`);
    await new Promise((resolve) => setTimeout(resolve, pause));
  }
}

/** Prints the answer; the exit code is 0 only when the build is staged (now or already). */
function printAnswer(status: number, a: Record<string, unknown>, human: boolean): number {
  const staged = (status === 202 || status === 200) && ['staged', 'replaced', 'unchanged'].includes(String(a.status));
  if (staged) {
    if (human) {
      process.stdout.write(`${String(a.status)}: ${String(a.project)} ${String(a.version)}\n`);
      const d = a.digests as { kind?: string; files?: { path: string; sha256: string }[]; ref?: string; digest?: string } | undefined;
      if (d?.files) for (const f of d.files) process.stdout.write(`  ${f.sha256}  ${f.path}\n`);
      else if (d?.ref) process.stdout.write(`  ${d.ref}@${d.digest}\n`);
    }
    return 0;
  }
  const code = typeof a.code === 'string' && a.code in exitCodes ? (a.code as ErrorCode) : undefined;
  const lines = [`release-bot: HTTP ${status}: ${String(a.error ?? a.reason ?? a.status ?? 'no answer')}${code ? ` [${code}]` : ''}`];
  for (const key of ['issues', 'problems'] as const) if (Array.isArray(a[key])) for (const p of a[key] as unknown[]) lines.push(`  - ${String(p)}`);
  process.stderr.write(`${lines.join('\n')}\n`);
  return code ? exitCodes[code] : 1;
}

/** sha256 of each file, streamed; the path reported is the one the file has in the staging directory. */
async function digests(files: string[], base: string | undefined): Promise<{ path: string; sha256: string }[]> {
  const out: { path: string; sha256: string }[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const rel = base === undefined ? path.basename(file) : path.relative(path.resolve(base), path.resolve(file)).split(path.sep).join('/');
    assertSafeRelativePath(rel);
    if (seen.has(rel)) throw new ReleaseBotError(ErrorCode.BadInput, `${rel} is named twice`);
    seen.add(rel);
    const info = await stat(file).catch(() => undefined);
    if (!info?.isFile()) throw new ReleaseBotError(ErrorCode.BadInput, `${file} is not a readable file`);
    try {
      out.push({ path: rel, sha256: await sha256File(file) });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      throw new ReleaseBotError(ErrorCode.BadInput, `${file} cannot be hashed (${code === 'ELOOP' ? 'it is a symlink: name the file itself' : (code ?? (err as Error).message)})`);
    }
  }
  return out;
}

function webhookUrl(base: string): URL {
  let url: URL;
  try {
    url = new URL(base);
  } catch {
    throw new ReleaseBotError(ErrorCode.BadInput, `--url ${JSON.stringify(clip(base))} is not a URL: use e.g. https://release.example.com`);
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new ReleaseBotError(ErrorCode.BadInput, '--url must be http(s)');
  if (url.protocol === 'http:' && !['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
    process.stderr.write('release-bot: warning: --url is plain http: the report and its token cross the network unencrypted (use https)\n');
  }
  if (!url.pathname.replace(/\/+$/, '').endsWith('/webhooks/jenkins')) url.pathname = `${url.pathname.replace(/\/+$/, '')}/webhooks/jenkins`;
  return url;
}

function dropUndefined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== '')) as Partial<T>;
}

/** The report: signed, posted (with retries) and its answer printed (only `node:` imports here). */
import { createHash, createHmac, randomUUID } from 'node:crypto';
import { EXIT_CODES, NotifyError } from './errors.mjs';
import { digests } from './files.mjs';
import { wholeNumber, type NotifyOptions } from './options.mjs';

/** How long the token `notify` signs stays valid: enough for the request, useless soon after. */
const TOKEN_LIFETIME_SEC = 300;
/** The bot refuses a shorter JENKINS_JWT_SECRET (src/config/env-checks.ts). */
const MIN_SECRET_LENGTH = 32;

export interface NotifyIo {
  env: NodeJS.ProcessEnv;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Error code -> exit code, for the bot's answers. */
  exitCodes: Readonly<Record<string, number>>;
}

/** The process's own environment and output: what the single file and `release-bot notify` run with. */
export const processIo: NotifyIo = {
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

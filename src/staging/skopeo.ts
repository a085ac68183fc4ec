import { readFile, writeFile } from 'node:fs/promises';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { ExecError, runCommand, tail } from '../exec.js';
import { clip } from '../validate.js';

/**
 * A small typed wrapper around skopeo (Debian package `skopeo`): no Docker daemon is needed on a
 * release machine. Credentials only ever travel in an auth file (never argv), and every failure is
 * sorted once, here, into "absent", "retryable" or "final".
 */

/** `sha256:` and 64 lower-case hex digits: the only digest form the bot accepts or reports. */
export const MANIFEST_DIGEST = /^sha256:[0-9a-f]{64}$/;

// The docker reference grammar (distribution/reference), without the parts the bot never needs.
const HOST_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const HOST = `(?:localhost|${HOST_COMPONENT}(?:\\.${HOST_COMPONENT})+|\\[[0-9a-fA-F:]+\\])(?::[0-9]{1,5})?|${HOST_COMPONENT}:[0-9]{1,5}`;
const PATH_COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
/** `registry.example.com[:port]/org/name`: an explicit registry host, no tag, no digest, no transport. */
export const IMAGE_REPOSITORY = new RegExp(`^(${HOST})/(${PATH_COMPONENT}(?:/${PATH_COMPONENT})*)$`);
/** A docker tag. */
export const IMAGE_TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;

export interface ImageRepository {
  /** `registry.example.com` or `127.0.0.1:5000`: the key of an auth file entry. */
  host: string;
  /** `org/conjur-cli` */
  path: string;
}

export function parseRepository(repository: string): ImageRepository {
  const m = IMAGE_REPOSITORY.exec(repository);
  if (!m || repository.length > 255) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `image repository ${JSON.stringify(clip(repository))} is not valid: use "<registry host[:port]>/<lower-case path>" such as registry.example.com/org/conjur-cli, without a tag, a digest or "docker://"`,
    );
  }
  return { host: m[1] as string, path: m[2] as string };
}

export interface ImageReference extends ImageRepository {
  repository: string;
  tag?: string;
  digest?: string;
}

/** `host/repo:tag` or `host/repo@sha256:...` (optionally prefixed with `docker://`). */
export function parseImageReference(ref: string): ImageReference {
  const bad = () =>
    new ReleaseBotError(ErrorCode.BadInput, `image reference ${JSON.stringify(clip(ref))} is not valid: use <registry host[:port]>/<path>:<tag> or <registry host[:port]>/<path>@sha256:<64 hex>`);
  if (typeof ref !== 'string' || ref.length > 512) throw bad();
  const bare = ref.startsWith('docker://') ? ref.slice('docker://'.length) : ref;
  const at = bare.indexOf('@');
  if (at >= 0) {
    const digest = bare.slice(at + 1);
    if (!MANIFEST_DIGEST.test(digest)) throw bad();
    const repository = bare.slice(0, at);
    if (!IMAGE_REPOSITORY.test(repository)) throw bad();
    return { ...parseRepository(repository), repository, digest };
  }
  const colon = bare.lastIndexOf(':');
  const slash = bare.lastIndexOf('/');
  if (colon <= slash) throw bad(); // no tag: "latest" is never implied for a release
  const repository = bare.slice(0, colon);
  const tag = bare.slice(colon + 1);
  if (!IMAGE_TAG.test(tag) || !IMAGE_REPOSITORY.test(repository)) throw bad();
  return { ...parseRepository(repository), repository, tag };
}

export type SkopeoFailureReason = 'not-found' | 'unauthorized' | 'network' | 'rate-limited' | 'server-error' | 'tls' | 'other';

const FAILURES: Array<[SkopeoFailureReason, RegExp]> = [
  ['rate-limited', /toomanyrequests|too many requests|\b429\b(?= \(?[A-Z])/i],
  ['server-error', /\b5\d\d\b(?= \(?[A-Z])|unexpected http status: 5\d\d/i],
  ['tls', /x509:|certificate|server gave http response to https client|tls: /i],
  [
    'network',
    /connection refused|connection reset|tls handshake timeout|i\/o timeout|timeout exceeded|no such host|network is unreachable|no route to host|server misbehaving|temporary failure|broken pipe|unexpected eof|\beof\b/i,
  ],
  ['unauthorized', /unauthorized|authentication required|denied|invalid username\/password|forbidden/i],
  ['not-found', /manifest unknown|name unknown|repository name not known|not found|statuscode: 404\b/i],
];

/** Sorts a skopeo error output into one reason; only network, 429 and 5xx are worth retrying. */
export function classifySkopeoFailure(stderr: string): { reason: SkopeoFailureReason; retryable: boolean } {
  for (const [reason, pattern] of FAILURES) {
    if (pattern.test(stderr)) return { reason, retryable: reason === 'network' || reason === 'rate-limited' || reason === 'server-error' };
  }
  return { reason: 'other', retryable: false };
}

/** skopeo prints `level=fatal msg="..."`: the message is what a person needs. */
function fatalMessage(stderr: string): string {
  const m = /msg="((?:[^"\\]|\\.)*)"/.exec(stderr);
  return m ? (m[1] as string).replace(/\\"/g, '"') : tail(stderr, 3, 500);
}

const HINTS: Record<SkopeoFailureReason, string> = {
  'not-found': 'the image or tag does not exist',
  unauthorized: 'the registry refused the credentials: check the username and password (or token) in Conjur and the account\'s push/pull rights',
  network: 'the registry could not be reached (will be retried)',
  'rate-limited': 'the registry asked to slow down (429, will be retried)',
  'server-error': 'the registry answered with a server error (5xx, will be retried)',
  tls: 'TLS failed: check the registry\'s certificate, or tls_verify for a plain-HTTP registry',
  other: 'skopeo failed',
};

/** A coded error for a failed skopeo run: NOT_FOUND when the image is absent, EXEC_FAILED otherwise. */
export class SkopeoError extends ReleaseBotError {
  constructor(
    readonly reason: SkopeoFailureReason,
    what: string,
    stderr: string,
    retryable: boolean,
    cause?: unknown,
  ) {
    super(reason === 'not-found' ? ErrorCode.NotFound : ErrorCode.ExecFailed, `${what}: ${HINTS[reason]} (${clip(fatalMessage(stderr), 400)})`, {
      retryable,
      cause,
      details: { reason, stderr: tail(stderr, 4, 800) },
    });
  }
}

export interface SkopeoOptions {
  redact: (text: string) => string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Working directory (also HOME for skopeo): a private temp dir so no user configuration leaks in. */
  cwd?: string;
}

export interface InspectOptions extends SkopeoOptions {
  tlsVerify: boolean;
  /** containers-auth.json file; without it the registry is accessed anonymously (never a machine-wide login). */
  authFile?: string;
}

async function skopeo(what: string, args: string[], options: SkopeoOptions, defaultTimeoutMs: number): Promise<string> {
  try {
    const result = await runCommand('skopeo', args, {
      timeoutMs: options.timeoutMs ?? defaultTimeoutMs,
      redact: options.redact,
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.cwd ? { cwd: options.cwd } : {}),
    });
    return result.stdout;
  } catch (err) {
    if (err instanceof ExecError) {
      const { reason, retryable } = classifySkopeoFailure(err.stderr);
      throw new SkopeoError(reason, what, err.stderr, retryable, err);
    }
    throw err;
  }
}

/**
 * The manifest digest of an image in a registry (of the top-level manifest: the index for a
 * multi-arch image). Throws NOT_FOUND when the tag or repository does not exist.
 */
export async function inspectDigest(ref: string, options: InspectOptions): Promise<string> {
  const image = parseImageReference(ref);
  const name = image.digest ? `${image.repository}@${image.digest}` : `${image.repository}:${image.tag}`;
  const stdout = await skopeo(
    `skopeo inspect ${name}`,
    [
      'inspect',
      `--tls-verify=${options.tlsVerify}`,
      ...(options.authFile ? ['--authfile', options.authFile] : ['--no-creds']),
      '--no-tags',
      '--format',
      '{{.Digest}}',
      `docker://${name}`,
    ],
    options,
    120_000,
  );
  const digest = stdout.trim();
  if (!MANIFEST_DIGEST.test(digest)) {
    throw new ReleaseBotError(ErrorCode.ExecFailed, `skopeo inspect ${name} printed no sha256 manifest digest (${JSON.stringify(clip(digest, 100))})`);
  }
  return digest;
}

/** Like inspectDigest, but an absent tag or repository is `undefined` instead of an error. */
export async function digestIfPresent(ref: string, options: InspectOptions): Promise<string | undefined> {
  try {
    return await inspectDigest(ref, options);
  } catch (err) {
    if (err instanceof SkopeoError && err.reason === 'not-found') return undefined;
    throw err;
  }
}

export interface CopyOptions extends SkopeoOptions {
  srcTlsVerify: boolean;
  destTlsVerify: boolean;
  srcAuthFile?: string;
  destAuthFile?: string;
  /** Where skopeo writes the digest of the manifest it pushed. */
  digestFile: string;
}

/**
 * Copies an image by digest, every platform of a multi-arch image, refusing any change to a manifest
 * (`--preserve-digests`): the destination gets byte for byte the manifest that was staged.
 * Returns the digest skopeo reports it pushed.
 */
export async function copyImage(source: string, destination: string, options: CopyOptions): Promise<string> {
  const src = parseImageReference(source);
  const dest = parseImageReference(destination);
  if (!src.digest) throw new ReleaseBotError(ErrorCode.BadInput, `the source of a copy is pinned by digest, not by tag (${clip(source)})`);
  if (!dest.tag) throw new ReleaseBotError(ErrorCode.BadInput, `the destination of a copy is a tag (${clip(destination)})`);
  const from = `${src.repository}@${src.digest}`;
  const to = `${dest.repository}:${dest.tag}`;
  await skopeo(
    `skopeo copy ${from} to ${to}`,
    [
      'copy',
      '--all',
      '--preserve-digests',
      '--quiet',
      `--src-tls-verify=${options.srcTlsVerify}`,
      `--dest-tls-verify=${options.destTlsVerify}`,
      ...(options.srcAuthFile ? ['--src-authfile', options.srcAuthFile] : ['--src-no-creds']),
      ...(options.destAuthFile ? ['--dest-authfile', options.destAuthFile] : ['--dest-no-creds']),
      '--digestfile',
      options.digestFile,
      `docker://${from}`,
      `docker://${to}`,
    ],
    options,
    6 * 3_600_000, // a hung copy only: the caller's signal (a destination's timeout, at most 6 h) ends it first
  );
  const pushed = (await readFile(options.digestFile, 'utf8')).trim();
  if (!MANIFEST_DIGEST.test(pushed)) throw new ReleaseBotError(ErrorCode.ExecFailed, `skopeo copy to ${to} wrote no manifest digest`);
  return pushed;
}

/**
 * Writes a containers-auth.json file (mode 0600) for one registry. The file holds base64(user:pass),
 * a form of the secret nobody registered for redaction: it must only ever live in this file.
 */
export async function writeAuthFile(file: string, host: string, username: string, password: string): Promise<void> {
  const auth = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  await writeFile(file, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600, flag: 'wx' });
}

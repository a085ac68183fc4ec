import { readFile, writeFile } from 'node:fs/promises';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { ExecError, runCommand } from '../exec.js';
import { clip } from '../validate.js';
import { describeManifest, type ManifestInfo } from './image-manifest.js';
import { SkopeoError, classifySkopeoFailure } from './skopeo-error.js';
import { makeSkopeoHome } from './skopeo-home.js';
import { IMAGE_REPOSITORY } from './image-repository.js';
import { ensureSkopeoVersion } from './skopeo-version.js';

export { SkopeoError, classifySkopeoFailure, type SkopeoFailureReason } from './skopeo-error.js';
export { describeManifest, type ManifestInfo } from './image-manifest.js';

/**
 * A small typed wrapper around skopeo (Debian package `skopeo`): no Docker daemon is needed on a
 * release machine. Credentials only ever travel in an auth file (never argv), configuration only in
 * files the bot writes (skopeo-home.ts), and every failure is sorted once (skopeo-error.ts) into
 * "absent", "retryable" or "final".
 */

/** `sha256:` and 64 lower-case hex digits: the only digest form the bot accepts or reports. */
export const MANIFEST_DIGEST = /^sha256:[0-9a-f]{64}$/;

export { IMAGE_REPOSITORY } from './image-repository.js';
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
    new ReleaseBotError(
      ErrorCode.BadInput,
      `image reference ${JSON.stringify(clip(ref))} is not valid: use <registry host[:port]>/<path>:<tag> or <registry host[:port]>/<path>@sha256:<64 hex>`,
    );
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

export interface SkopeoOptions {
  redact: (text: string) => string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Where each run's private HOME (with the bot's registries.conf and policy.json) is made; the system temp dir when absent. */
  tmpDir?: string;
}

export interface InspectOptions extends SkopeoOptions {
  tlsVerify: boolean;
  /** containers-auth.json file; without it the registry is accessed anonymously (never a machine-wide login). */
  authFile?: string;
}

interface RunSpec {
  /** What the run does, for messages. */
  what: string;
  /** The subcommand and its flags. */
  command: string;
  args: string[];
  defaultTimeoutMs: number;
  /** The only repository a copy may read (its trust policy rejects every other source). */
  sourceRepository?: string;
  /** stdout as bytes (a raw manifest that is hashed). */
  raw?: boolean;
}

async function skopeo(spec: RunSpec, options: SkopeoOptions): Promise<{ stdout: string; bytes?: Buffer }> {
  await ensureSkopeoVersion(options.redact);
  const home = await makeSkopeoHome(options.tmpDir, spec.sourceRepository);
  try {
    // The pinned configuration right after the subcommand (cobra's persistent flags are accepted there).
    const result = await runCommand('skopeo', [spec.command, ...home.args, ...spec.args], {
      timeoutMs: options.timeoutMs ?? spec.defaultTimeoutMs,
      redact: options.redact,
      cwd: home.dir,
      ...(spec.raw ? { rawStdout: true } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    return { stdout: result.stdout, ...(result.stdoutBytes ? { bytes: result.stdoutBytes } : {}) };
  } catch (err) {
    if (err instanceof ExecError) {
      const { reason, retryable } = classifySkopeoFailure(err.stderr, err.exitCode);
      throw new SkopeoError(reason, spec.what, err.stderr, retryable, err, err.exitCode);
    }
    throw err;
  } finally {
    await home.remove();
  }
}

/**
 * Reads the raw manifest of an image (`skopeo inspect --raw`: no platform is chosen, so a multi-arch
 * image whose platforms do not include the release machine's works) and takes its digest as the
 * registry does, sha256 over the bytes. A reference by digest must hash to that digest. Throws
 * NOT_FOUND when the tag or repository does not exist.
 */
export async function inspectManifest(ref: string, options: InspectOptions): Promise<ManifestInfo> {
  const image = parseImageReference(ref);
  const name = image.digest ? `${image.repository}@${image.digest}` : `${image.repository}:${image.tag}`;
  const { bytes } = await skopeo(
    {
      what: `skopeo inspect ${name}`,
      command: 'inspect',
      args: [
        '--raw',
        `--tls-verify=${options.tlsVerify}`,
        ...(options.authFile ? ['--authfile', options.authFile] : ['--no-creds']),
        `docker://${name}`,
      ],
      defaultTimeoutMs: 120_000,
      raw: true,
    },
    options,
  );
  const raw = bytes ?? Buffer.alloc(0);
  const info = describeManifest(raw, name);
  if (image.digest && info.digest !== image.digest) {
    throw new ReleaseBotError(ErrorCode.ArtifactMismatch, `the registry served ${name} with a manifest whose sha256 is ${info.digest}`);
  }
  return info;
}

/**
 * The manifest digest of an image in a registry (of the top-level manifest: the index for a
 * multi-arch image). Throws NOT_FOUND when the tag or repository does not exist.
 */
export async function inspectDigest(ref: string, options: InspectOptions): Promise<string> {
  return (await inspectManifest(ref, options)).digest;
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
 * Signatures are not copied: the bot vouches for the digest it verified, nothing the build side
 * attached to it. Returns the digest skopeo reports it pushed.
 */
export async function copyImage(source: string, destination: string, options: CopyOptions): Promise<string> {
  const src = parseImageReference(source);
  const dest = parseImageReference(destination);
  if (!src.digest) throw new ReleaseBotError(ErrorCode.BadInput, `the source of a copy is pinned by digest, not by tag (${clip(source)})`);
  if (!dest.tag) throw new ReleaseBotError(ErrorCode.BadInput, `the destination of a copy is a tag (${clip(destination)})`);
  const from = `${src.repository}@${src.digest}`;
  const to = `${dest.repository}:${dest.tag}`;
  await skopeo(
    {
      what: `skopeo copy ${from} to ${to}`,
      command: 'copy',
      args: [
        '--all',
        '--preserve-digests',
        '--remove-signatures',
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
      defaultTimeoutMs: 6 * 3_600_000, // a hung copy only: the caller's signal (a destination's timeout, at most 6 h) ends it first
      sourceRepository: src.repository,
    },
    options,
  );
  const pushed = (await readFile(options.digestFile, 'utf8')).trim();
  if (!MANIFEST_DIGEST.test(pushed)) throw new ReleaseBotError(ErrorCode.ExecFailed, `skopeo copy to ${to} wrote no manifest digest`);
  return pushed;
}

/**
 * Deletes a manifest by digest (`skopeo delete`), which removes every tag that points at it. A
 * registry that does not allow deletes (docker-registry without `storage.delete.enabled`) answers
 * 405 UNSUPPORTED: the caller sees a SkopeoError and decides what that means.
 */
export async function deleteImage(ref: string, options: InspectOptions): Promise<void> {
  const image = parseImageReference(ref);
  if (!image.digest) throw new ReleaseBotError(ErrorCode.BadInput, `a manifest is deleted by digest, never by tag (${clip(ref)})`);
  const name = `${image.repository}@${image.digest}`;
  await skopeo(
    {
      what: `skopeo delete ${name}`,
      command: 'delete',
      args: [
        `--tls-verify=${options.tlsVerify}`,
        ...(options.authFile ? ['--authfile', options.authFile] : ['--no-creds']),
        `docker://${name}`,
      ],
      defaultTimeoutMs: 120_000,
    },
    options,
  );
}

/**
 * Writes a containers-auth.json file (mode 0600) for one registry. The file holds base64(user:pass),
 * a form of the secret nobody registered for redaction: it must only ever live in this file.
 */
export async function writeAuthFile(file: string, host: string, username: string, password: string): Promise<void> {
  const auth = Buffer.from(`${username}:${password}`, 'utf8').toString('base64');
  await writeFile(file, JSON.stringify({ auths: { [host]: { auth } } }), { mode: 0o600, flag: 'wx' });
}

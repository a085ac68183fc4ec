import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { createGunzip } from 'node:zlib';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';
import { readTar, tarRefused, type TarLimits } from './tar-reader.js';

/** What an npm tarball says about itself, and its digests, from one read of the file. */
export interface NpmTarball {
  name: string;
  version: string;
  /** The manifest's publishConfig (npm applies it as configuration when it publishes), or undefined. */
  publishConfig: Record<string, unknown> | undefined;
  sha256: string;
  /** What the registry records as dist.integrity. */
  integrity: string;
}

const MANIFEST = 'package/package.json';

/**
 * Reads an npm tarball as npm would publish it: every entry under `package/` (npm strips the first path
 * step, so `other/package.json` would also become the manifest), exactly one `package/package.json`, a
 * JSON object with string name and version. The sha256 and sha512 are taken in the same pass, so the
 * manifest checked is the one of the bytes hashed.
 */
export async function readNpmTarball(file: string, limits: Partial<TarLimits> = { maxBytes: 512 << 20 }): Promise<NpmTarball> {
  const sha256 = createHash('sha256');
  const sha512 = createHash('sha512');
  const stream = createReadStream(file);
  stream.on('data', (chunk) => {
    sha256.update(chunk as Buffer);
    sha512.update(chunk as Buffer);
  });
  const gunzip = stream.pipe(createGunzip());
  stream.on('error', (err) => gunzip.destroy(err));
  let contents;
  try {
    contents = await readTar(gunzip, { capture: (p) => p === MANIFEST, limits });
  } catch (err) {
    if (err instanceof ReleaseBotError) throw err;
    throw tarRefused(`not a gzip-compressed tar archive (${clip(err instanceof Error ? err.message : String(err), 120)})`);
  } finally {
    gunzip.destroy();
    stream.destroy();
  }
  const outside = contents.entries.find((e) => !(e.path === 'package' && e.type === 'directory') && !e.path.startsWith('package/'));
  if (outside) throw tarRefused(`${JSON.stringify(clip(outside.path, 120))} is not under package/, where npm packs every file`);
  const text = contents.files.get(MANIFEST);
  if (text === undefined) throw tarRefused(`no ${MANIFEST} in the tarball`);
  let manifest: unknown;
  try {
    manifest = JSON.parse(text.toString('utf8'));
  } catch {
    throw tarRefused(`${MANIFEST} is not valid JSON`);
  }
  if (typeof manifest !== 'object' || manifest === null || Array.isArray(manifest)) throw tarRefused(`${MANIFEST} is not a JSON object`);
  const { name, version, publishConfig } = manifest as Record<string, unknown>;
  if (typeof name !== 'string' || typeof version !== 'string') throw tarRefused(`${MANIFEST} has no string name and version`);
  if (publishConfig !== undefined && (typeof publishConfig !== 'object' || publishConfig === null || Array.isArray(publishConfig))) {
    throw tarRefused(`${MANIFEST} has a publishConfig that is not an object`);
  }
  return {
    name,
    version,
    publishConfig: publishConfig as Record<string, unknown> | undefined,
    sha256: sha256.digest('hex'),
    integrity: `sha512-${sha512.digest('base64')}`,
  };
}

/**
 * npm applies a tarball's publishConfig as configuration for every key its command line does not set
 * (npm/cli lib/commands/publish.js: `flatten(filteredPublishConfig, opts)`), proxies, TLS settings and
 * `//host/:_authToken` lines included. So only what cannot change where or as whom it publishes passes:
 * `access`, `tag` (the command line sets it anyway) and a `registry` equal to the destination's.
 */
export function assertHarmlessPublishConfig(publishConfig: Record<string, unknown> | undefined, registry: string): void {
  if (publishConfig === undefined) return;
  const bad: string[] = [];
  for (const [key, value] of Object.entries(publishConfig)) {
    if (key === 'access' && (value === 'public' || value === 'restricted')) continue;
    if (key === 'tag' && typeof value === 'string') continue;
    if (key === 'registry' && typeof value === 'string' && value.replace(/\/+$/, '') === registry.replace(/\/+$/, '')) continue;
    bad.push(key === 'registry' ? `registry ${JSON.stringify(clip(String(value), 80))}` : JSON.stringify(clip(key, 60)));
  }
  if (bad.length > 0) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `package.json has publishConfig ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ` and ${bad.length - 5} more` : ''}: npm would apply it as configuration (proxy, registry, TLS, credentials), so only access, tag and a registry equal to the destination's (${registry}) are allowed; remove it from the build`,
      { details: { reason: 'bad-artifact', publishConfig: bad.slice(0, 20) } },
    );
  }
}

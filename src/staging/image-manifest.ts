import { createHash } from 'node:crypto';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import { clip } from '../validate.js';

/** What `inspectManifest` found: the digest of the top-level manifest and what kind it is. */
export interface ManifestInfo {
  /** sha256 of the raw manifest bytes the registry served: the index digest for a multi-arch image. */
  digest: string;
  mediaType: string;
  /** `os/architecture[/variant]` of each image of an index; empty for a single manifest. */
  platforms: string[];
}

const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const IMAGE_TYPES = new Set(['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json']);

interface RawManifest {
  schemaVersion?: unknown;
  mediaType?: unknown;
  manifests?: Array<{ platform?: { os?: unknown; architecture?: unknown; variant?: unknown } }>;
  config?: unknown;
}

/**
 * The digest and kind of raw manifest bytes. Only schema 2 (Docker v2 schema 2, manifest lists,
 * OCI manifests and indexes) is accepted: a schema 1 manifest's digest is not the sha256 of its
 * bytes (the signature is cut out first), and no current tool writes one.
 */
export function describeManifest(raw: Buffer, name: string): ManifestInfo {
  const digest = `sha256:${createHash('sha256').update(raw).digest('hex')}`;
  let parsed: RawManifest;
  try {
    parsed = JSON.parse(raw.toString('utf8')) as RawManifest;
  } catch {
    throw new ReleaseBotError(ErrorCode.BadInput, `the manifest of ${name} is not JSON (${raw.length} bytes)`);
  }
  if (typeof parsed !== 'object' || parsed === null || parsed.schemaVersion !== 2) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the manifest of ${name} is not schema version 2 (found ${JSON.stringify(clip(String((parsed as RawManifest | null)?.schemaVersion), 20))}): push the image as an OCI or Docker v2 schema 2 image`,
    );
  }
  // OCI manifests may leave mediaType out: then the shape says what it is.
  const mediaType =
    typeof parsed.mediaType === 'string'
      ? parsed.mediaType
      : Array.isArray(parsed.manifests)
        ? 'application/vnd.oci.image.index.v1+json'
        : 'application/vnd.oci.image.manifest.v1+json';
  if (!INDEX_TYPES.has(mediaType) && !IMAGE_TYPES.has(mediaType)) {
    throw new ReleaseBotError(
      ErrorCode.BadInput,
      `the manifest of ${name} has media type ${JSON.stringify(clip(mediaType, 100))}, not an image or an image index`,
    );
  }
  const platforms = INDEX_TYPES.has(mediaType)
    ? (parsed.manifests ?? []).map(
        (m) =>
          [m.platform?.os, m.platform?.architecture, m.platform?.variant].filter((x) => typeof x === 'string' && x !== '').join('/') ||
          'unknown',
      )
    : [];
  return { digest, mediaType, platforms };
}

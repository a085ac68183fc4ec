import { z } from '../../src/config/zod.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { MANIFEST_DIGEST } from '../../src/staging/skopeo.js';
import { clip } from '../../src/validate.js';
import type { RegistryClient } from '../oci-registry.js';
import { fetchManifest, MEDIA_TYPES, sha256Digest } from '../oci-registry.js';
import { replyHeader as header } from './registry-exchange.js';

/**
 * Reading an attestation the way cosign stores one (sigstore/cosign specs/ATTESTATION_SPEC.md): the
 * `sha256-<hex>.att` manifest, hashed by us, and its DSSE layers, each checked against its descriptor.
 */

/** An envelope is a few KiB; a layer larger than this is not one we wrote, and is not read. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;
const MAX_LAYERS = 64;

const descriptorSchema = z.looseObject({
  mediaType: z.string(),
  digest: z.string().regex(MANIFEST_DIGEST),
  size: z.number().int().nonnegative(),
  annotations: z.record(z.string(), z.string()).optional(),
});
const manifestSchema = z.looseObject({
  schemaVersion: z.literal(2),
  mediaType: z.string().optional(),
  config: descriptorSchema,
  layers: z.array(descriptorSchema),
});
export type Descriptor = z.infer<typeof descriptorSchema>;
type Manifest = z.infer<typeof manifestSchema>;

/** sha256:<hex> -> sha256-<hex>.att */
export function attestationTag(digest: string): string {
  return `${digest.replace(':', '-')}.att`;
}

export interface Found {
  digest: string;
  manifest?: Manifest;
  /** Why the tag does not hold a DSSE-only attestation manifest we can read. */
  problem?: string;
}

/**
 * The manifest a reference names, hashed by us; undefined when the registry has no such reference. A
 * registry that names another digest for these bytes is refused: something between us and it changed them.
 */
export async function readManifestBytes(
  client: RegistryClient,
  reference: string,
): Promise<{ digest: string; body: Buffer; contentType?: string } | undefined> {
  const reply = await fetchManifest(client, 'GET', reference);
  if (reply === undefined) return undefined;
  const digest = sha256Digest(reply.body);
  const claimed = header(reply, 'docker-content-digest');
  if (claimed && claimed !== digest) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${client.host}/${client.repoPath}:${reference} was served as ${clip(claimed, 80)} but its bytes hash to ${digest}: something between us and the registry changed it`,
    );
  }
  const contentType = header(reply, 'content-type');
  return { digest, body: reply.body, ...(contentType === undefined ? {} : { contentType }) };
}

/** The `.att` manifest, hashed by us; undefined when the tag does not exist. */
export async function readAttestationManifest(client: RegistryClient, tag: string): Promise<Found | undefined> {
  const read = await readManifestBytes(client, tag);
  if (read === undefined) return undefined;
  const { digest } = read;
  let parsed: ReturnType<typeof manifestSchema.safeParse>;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(read.body.toString('utf8')));
  } catch {
    return { digest, problem: 'something that is not JSON' };
  }
  if (!parsed.success) return { digest, problem: 'something that is not an image manifest (an index, or another format)' };
  const manifest = parsed.data;
  const type = manifest.mediaType ?? read.contentType;
  if (type !== MEDIA_TYPES.ociManifest && type !== MEDIA_TYPES.dockerManifest)
    return { digest, problem: `a ${clip(String(type), 80)}, not an image manifest` };
  if (manifest.layers.length > MAX_LAYERS) return { digest, problem: `${manifest.layers.length} layers (at most ${MAX_LAYERS} are read)` };
  const foreign = manifest.layers.find((l) => l.mediaType !== MEDIA_TYPES.dsse || l.size > MAX_ENVELOPE_BYTES);
  if (foreign) return { digest, problem: `a layer that is not a DSSE envelope (${clip(foreign.mediaType, 80)}, ${foreign.size} bytes)` };
  return { digest, manifest };
}

/** A layer's bytes, refused unless they are exactly the size and sha256 its descriptor names. */
export async function readLayer(client: RegistryClient, layer: Descriptor): Promise<Buffer> {
  const reply = await client.call({ method: 'GET', url: client.repoUrl(`blobs/${layer.digest}`), limit: layer.size });
  const got = sha256Digest(reply.body);
  if (reply.body.length !== layer.size || got !== layer.digest) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${client.host}/${client.repoPath} served other bytes for the attestation layer ${layer.digest} (${reply.body.length} bytes hashing to ${got}): its storage was altered, or something in between changed them`,
      {
        details: { layer: layer.digest, served: got },
      },
    );
  }
  return reply.body;
}

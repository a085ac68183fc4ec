import { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../src/provenance/dsse.js';
import type { AttestationToPublish, PublishContext } from '../src/publishing/types.js';
import { MANIFEST_DIGEST, parseImageReference, parseRepository } from '../src/staging/skopeo.js';
import { clip } from '../src/validate.js';
import {
  ANY_MANIFEST,
  MAX_MANIFEST_BYTES,
  MEDIA_TYPES,
  RegistryClient,
  sha256Digest,
  type Reply,
  type RegistryAccess,
} from './oci-registry.js';

export type { RegistryAccess } from './oci-registry.js';

/**
 * An image's attestation as cosign stores one (sigstore/cosign specs/ATTESTATION_SPEC.md,
 * cmd/cosign/cli/attest/attest.go, pkg/oci/static/signature.go): an OCI image manifest tagged
 * `sha256-<hex>.att` in the image's own repository (pkg/oci/remote/remote.go normalize, options.go
 * AttestationTagSuffix), one layer per DSSE envelope, media type application/vnd.dsse.envelope.v1+json,
 * annotated with the statement's predicateType. A tag works on any registry, Debian's docker-registry
 * (distribution 2.8, no referrers API) included.
 *
 * Others may have attested the same image (cosign appends): their layers are kept and ours appended,
 * never overwritten; a tag holding anything but DSSE layers is not ours to touch and is refused.
 */
export interface ImageAttestations {
  /** The manifest digest the reference resolves to (sha256:...). */
  subjectDigest: string;
  /** Every DSSE envelope found under `sha256-<hex>.att`, as bytes. */
  envelopes: Buffer[];
}

export interface AttestedImage {
  /** `<repository>:sha256-<hex>.att` */
  location: string;
  /** already-present: the tag held this exact envelope; nothing was written. */
  status: 'published' | 'already-present';
  /** The digest of the `.att` manifest read back. */
  manifestDigest: string;
}

/** An envelope is a few KiB; a layer larger than this is not one we wrote, and is not read. */
export const MAX_ENVELOPE_BYTES = 4 * 1024 * 1024;
const MAX_LAYERS = 64;
/** cosign's layer annotation for the signature, empty for an attestation (the signature is inside the envelope). */
const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

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
type Descriptor = z.infer<typeof descriptorSchema>;
type Manifest = z.infer<typeof manifestSchema>;

/** sha256:<hex> -> sha256-<hex>.att */
export function attestationTag(digest: string): string {
  return `${digest.replace(':', '-')}.att`;
}

interface Found {
  digest: string;
  manifest?: Manifest;
  /** Why the tag does not hold a DSSE-only attestation manifest we can read. */
  problem?: string;
}

function header(reply: Reply, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** The `.att` manifest, hashed by us; undefined when the tag does not exist. */
async function readAttestationManifest(client: RegistryClient, tag: string): Promise<Found | undefined> {
  const reply = await client.call({
    method: 'GET',
    url: client.repoUrl(`manifests/${tag}`),
    headers: { Accept: ANY_MANIFEST },
    expect: [404],
    limit: MAX_MANIFEST_BYTES,
  });
  if (reply.status === 404) return undefined;
  const digest = sha256Digest(reply.body);
  const claimed = header(reply, 'docker-content-digest');
  if (claimed && claimed !== digest) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${client.host}/${client.repoPath}:${tag} was served as ${clip(claimed, 80)} but its bytes hash to ${digest}: something between us and the registry changed it`,
    );
  }
  let parsed: ReturnType<typeof manifestSchema.safeParse>;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(reply.body.toString('utf8')));
  } catch {
    return { digest, problem: 'something that is not JSON' };
  }
  if (!parsed.success) return { digest, problem: 'something that is not an image manifest (an index, or another format)' };
  const manifest = parsed.data;
  const type = manifest.mediaType ?? header(reply, 'content-type');
  if (type !== MEDIA_TYPES.ociManifest && type !== MEDIA_TYPES.dockerManifest)
    return { digest, problem: `a ${clip(String(type), 80)}, not an image manifest` };
  if (manifest.layers.length > MAX_LAYERS) return { digest, problem: `${manifest.layers.length} layers (at most ${MAX_LAYERS} are read)` };
  const foreign = manifest.layers.find((l) => l.mediaType !== MEDIA_TYPES.dsse || l.size > MAX_ENVELOPE_BYTES);
  if (foreign) return { digest, problem: `a layer that is not a DSSE envelope (${clip(foreign.mediaType, 80)}, ${foreign.size} bytes)` };
  return { digest, manifest };
}

/** A layer's bytes, refused unless they are exactly the size and sha256 its descriptor names. */
async function readLayer(client: RegistryClient, layer: Descriptor): Promise<Buffer> {
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

/** Uploads a blob unless the repository has it (distribution-spec: POST /blobs/uploads/, then PUT <Location>&digest=). */
async function putBlob(client: RegistryClient, bytes: Buffer, digest: string): Promise<void> {
  const head = await client.call({ method: 'HEAD', url: client.repoUrl(`blobs/${digest}`), expect: [404] });
  if (head.status === 200) return;
  const start = await client.call({ method: 'POST', url: client.repoUrl('blobs/uploads/') });
  const location = header(start, 'location');
  if (!location)
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `${client.service.name} started an upload without a Location to send it to`, {
      retryable: true,
    });
  const url = `${location}${location.includes('?') ? '&' : '?'}digest=${encodeURIComponent(digest)}`;
  await client.call({ method: 'PUT', url, headers: { 'Content-Type': 'application/octet-stream' }, body: bytes });
}

/**
 * What the envelope says before anything is pushed: bytes that hash to `digest`, an in-toto statement
 * whose subject is this image. The tag names one image; an envelope about another never goes under it.
 */
function checkEnvelope(attestation: AttestationToPublish, imageDigest: string): { predicateType?: string } {
  const refuse = (why: string) =>
    new ReleaseBotError(ErrorCode.ArtifactMismatch, `the attestation for ${imageDigest} ${why}: not attached`);
  if (sha256Digest(attestation.envelope) !== `sha256:${attestation.digest}`) throw refuse('does not hash to the digest it was given');
  if (attestation.envelope.length > MAX_ENVELOPE_BYTES) throw refuse(`is larger than ${MAX_ENVELOPE_BYTES} bytes`);
  let statement: { subject?: unknown; predicateType?: unknown };
  try {
    const envelope = JSON.parse(attestation.envelope.toString('utf8')) as { payloadType?: unknown; payload?: unknown };
    if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE || typeof envelope.payload !== 'string')
      throw refuse(`is not a DSSE envelope of ${IN_TOTO_PAYLOAD_TYPE}`);
    statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as typeof statement;
  } catch (err) {
    if (err instanceof ReleaseBotError) throw err;
    throw refuse('is not JSON (a DSSE envelope holding an in-toto statement)');
  }
  const hex = imageDigest.slice('sha256:'.length);
  const subjects = Array.isArray(statement.subject) ? (statement.subject as Array<{ digest?: { sha256?: unknown } }>) : [];
  if (!subjects.some((s) => s?.digest?.sha256 === hex)) throw refuse('names another subject');
  return typeof statement.predicateType === 'string' ? { predicateType: statement.predicateType } : {};
}

/**
 * Attaches `attestation` to the image `digest` in `repository` under `sha256-<hex>.att`, then reads it
 * back. Idempotent: a tag already holding this envelope is left as it is; others' envelopes are kept.
 */
export async function attestImage(
  ctx: PublishContext,
  repository: string,
  digest: string,
  attestation: AttestationToPublish,
  access: RegistryAccess,
): Promise<AttestedImage> {
  const repo = parseRepository(repository);
  if (!MANIFEST_DIGEST.test(digest))
    throw new ReleaseBotError(ErrorCode.BadInput, `"${clip(digest)}" is not a manifest digest (sha256:<64 hex>)`);
  const { predicateType } = checkEnvelope(attestation, digest);
  const client = new RegistryClient(
    repo.host,
    repo.path,
    { ...access, redact: access.redact ?? ctx.redact, signal: access.signal ?? ctx.signal },
    'pull,push',
  );
  const tag = attestationTag(digest);
  const location = `${repository}:${tag}`;

  // An attestation only ever sits beside the image it is about, in the same repository.
  const subject = await client.call({
    method: 'HEAD',
    url: client.repoUrl(`manifests/${digest}`),
    headers: { Accept: ANY_MANIFEST },
    expect: [404],
  });
  if (subject.status === 404) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${repository} does not serve ${digest}: the image is published before its attestation (a registry may lag right after a push)`,
      { retryable: true },
    );
  }

  const existing = await readAttestationManifest(client, tag);
  if (existing?.problem) {
    throw new ReleaseBotError(
      ErrorCode.DestinationConflict,
      `${location} holds ${existing.problem}: it is not ours to overwrite; remove that tag from the registry, then resume the release`,
      {
        details: { location, digest: existing.digest },
      },
    );
  }
  const ours: Descriptor = {
    mediaType: MEDIA_TYPES.dsse,
    digest: `sha256:${attestation.digest}`,
    size: attestation.envelope.length,
    annotations: { [COSIGN_SIGNATURE_ANNOTATION]: '', ...(predicateType ? { predicateType } : {}) },
  };
  const kept = existing?.manifest?.layers ?? [];
  const present = kept.some((l) => l.digest === ours.digest);
  let pushed: string | undefined;
  if (!present) {
    ctx.progress(`attaching the attestation to ${repository}@${digest.slice(0, 19)}… as ${tag}`);
    const layers = [...kept, ours];
    await putBlob(client, attestation.envelope, ours.digest);
    // No creation time: the same envelopes make the same manifest, so a retry or a second bot converges.
    const config = Buffer.from(
      JSON.stringify({ architecture: '', os: '', config: {}, rootfs: { type: 'layers', diff_ids: layers.map((l) => l.digest) } }),
    );
    await putBlob(client, config, sha256Digest(config));
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: MEDIA_TYPES.ociManifest,
        config: { mediaType: MEDIA_TYPES.ociConfig, size: config.length, digest: sha256Digest(config) },
        layers,
      }),
    );
    await client.call({
      method: 'PUT',
      url: client.repoUrl(`manifests/${tag}`),
      headers: { 'Content-Type': MEDIA_TYPES.ociManifest },
      body: manifest,
    });
    pushed = sha256Digest(manifest);
  }

  // Read back: the registry is the judge of what it now serves under the tag, byte for byte.
  const after = await readAttestationManifest(client, tag);
  const layer = after?.manifest?.layers.find((l) => l.digest === ours.digest);
  if (!after?.manifest || !layer) {
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `after the push ${location} does not hold the attestation ${ours.digest}${after ? ` (the tag is ${after.digest})` : ''}: another writer may have replaced it; will retry`,
      { retryable: true },
    );
  }
  const served = await readLayer(client, layer);
  if (!served.equals(attestation.envelope)) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${location} serves other bytes than the signed attestation under ${ours.digest}`,
    );
  }
  if (pushed && after.digest !== pushed)
    ctx.log.warn({ location, pushed, served: after.digest }, 'the attestation tag changed after our push; our envelope is still in it');
  ctx.log.info(
    { location, manifestDigest: after.digest, layers: after.manifest.layers.length, present },
    present ? 'attestation already attached' : 'attestation attached',
  );
  return { location, status: present ? 'already-present' : 'published', manifestDigest: after.digest };
}

/** The manifest digest of a tag or digest reference, from the bytes the registry serves (a digest reference must hash to itself). */
async function resolveDigest(client: RegistryClient, ref: { tag?: string; digest?: string; repository: string }): Promise<string> {
  const reference = ref.digest ?? (ref.tag as string);
  const reply = await client.call({
    method: 'GET',
    url: client.repoUrl(`manifests/${reference}`),
    headers: { Accept: ANY_MANIFEST },
    expect: [404],
    limit: MAX_MANIFEST_BYTES,
  });
  if (reply.status === 404) throw new ReleaseBotError(ErrorCode.NotFound, `${ref.repository} has no image ${reference}`);
  const digest = sha256Digest(reply.body);
  if (ref.digest && digest !== ref.digest) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${ref.repository}@${ref.digest} was served as bytes hashing to ${digest}: something between us and the registry changed them`,
    );
  }
  return digest;
}

/**
 * Every DSSE envelope attached to an image (`provenance verify <image-ref>`): resolves the reference to
 * its manifest digest, reads `sha256-<hex>.att`, returns each layer's bytes, hash-checked. A tag that
 * holds anything else is refused rather than partly read. No attestation: an empty list.
 */
export async function fetchImageAttestations(imageRef: string, access: RegistryAccess): Promise<ImageAttestations> {
  const ref = parseImageReference(imageRef);
  const client = new RegistryClient(ref.host, ref.path, access, 'pull');
  const subjectDigest = await resolveDigest(client, ref);
  const tag = attestationTag(subjectDigest);
  const found = await readAttestationManifest(client, tag);
  if (!found) return { subjectDigest, envelopes: [] };
  if (!found.manifest)
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${ref.repository}:${tag} holds ${found.problem ?? 'something unreadable'}: only DSSE envelopes (${MEDIA_TYPES.dsse}) are read`,
    );
  const envelopes: Buffer[] = [];
  for (const layer of found.manifest.layers) envelopes.push(await readLayer(client, layer));
  return { subjectDigest, envelopes };
}

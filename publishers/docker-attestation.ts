import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { IN_TOTO_PAYLOAD_TYPE } from '../src/provenance/dsse.js';
import type { AttestationToPublish, PublishContext } from '../src/publishing/types.js';
import { MANIFEST_DIGEST, parseRepository } from '../src/staging/skopeo.js';
import { clip } from '../src/validate.js';
import { attestationTag, MAX_ENVELOPE_BYTES, readAttestationManifest, readLayer, type Descriptor } from './docker/attestation-manifest.js';
import { replyHeader as header } from './docker/registry-exchange.js';
import { fetchManifest, MEDIA_TYPES, RegistryClient, sha256Digest, type RegistryAccess } from './oci-registry.js';

export type { RegistryAccess } from './oci-registry.js';
export { attestationTag, MAX_ENVELOPE_BYTES } from './docker/attestation-manifest.js';
export { fetchImageAttestations, type ImageAttestations } from './docker/fetch-attestations.js';

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
export interface AttestedImage {
  /** `<repository>:sha256-<hex>.att` */
  location: string;
  /** already-present: the tag held this exact envelope; nothing was written. */
  status: 'published' | 'already-present';
  /** The digest of the `.att` manifest read back. */
  manifestDigest: string;
}

/** cosign's layer annotation for the signature, empty for an attestation (the signature is inside the envelope). */
const COSIGN_SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';

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
  if ((await fetchManifest(client, 'HEAD', digest)) === undefined) {
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
    pushed = await pushAttestationManifest(client, tag, kept, ours, attestation.envelope);
  }
  return readBackAttestation(ctx, client, { location, tag, ours, envelope: attestation.envelope, present, pushed });
}

/** Pushes our envelope, the config and the `.att` manifest (the layers kept, then ours); the manifest's digest as pushed. */
async function pushAttestationManifest(
  client: RegistryClient,
  tag: string,
  kept: Descriptor[],
  ours: Descriptor,
  envelope: Buffer,
): Promise<string> {
  const layers = [...kept, ours];
  await putBlob(client, envelope, ours.digest);
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
  return sha256Digest(manifest);
}

interface ReadBackInput {
  location: string;
  tag: string;
  ours: Descriptor;
  envelope: Buffer;
  /** The tag held our envelope before: nothing was pushed. */
  present: boolean;
  /** The manifest digest we pushed, when we pushed one. */
  pushed: string | undefined;
}

/** Read back: the registry is the judge of what it now serves under the tag, byte for byte. */
async function readBackAttestation(ctx: PublishContext, client: RegistryClient, input: ReadBackInput): Promise<AttestedImage> {
  const { location, tag, ours, envelope, present, pushed } = input;
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
  if (!served.equals(envelope)) {
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

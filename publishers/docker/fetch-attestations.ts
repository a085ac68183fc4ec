import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { parseImageReference } from '../../src/staging/skopeo.js';
import { fetchManifest, MEDIA_TYPES, RegistryClient, sha256Digest, type RegistryAccess } from '../oci-registry.js';
import { attestationTag, readAttestationManifest, readLayer } from './attestation-manifest.js';

export interface ImageAttestations {
  /** The manifest digest the reference resolves to (sha256:...). */
  subjectDigest: string;
  /** Every DSSE envelope found under `sha256-<hex>.att`, as bytes. */
  envelopes: Buffer[];
}

/** The manifest digest of a tag or digest reference, from the bytes the registry serves (a digest reference must hash to itself). */
async function resolveDigest(client: RegistryClient, ref: { tag?: string; digest?: string; repository: string }): Promise<string> {
  const reference = ref.digest ?? (ref.tag as string);
  const reply = await fetchManifest(client, 'GET', reference);
  if (reply === undefined) throw new ReleaseBotError(ErrorCode.NotFound, `${ref.repository} has no image ${reference}`);
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

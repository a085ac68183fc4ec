import type { AttestationToPublish, PublishContext } from '../src/publishing/types.js';

/**
 * Interface placeholder agreed between two engineers working in parallel (issue 16): the docker
 * destination's attestation as an OCI artifact tagged `sha256-<digest>.att`, and reading it back for
 * `provenance verify <image-ref>`. Replaced by the real implementation before it is merged.
 */
export interface ImageAttestations {
  /** The manifest digest the reference resolves to (sha256:...). */
  subjectDigest: string;
  /** Every DSSE envelope found under `sha256-<hex>.att`, as bytes. */
  envelopes: Buffer[];
}

export interface RegistryAccess {
  username?: string | undefined;
  password?: string | undefined;
  tlsVerify: boolean;
  signal?: AbortSignal | undefined;
}

export async function attestImage(_ctx: PublishContext, _repository: string, _digest: string, _attestation: AttestationToPublish, _access: RegistryAccess): Promise<{ location: string }> {
  throw new Error('not implemented yet');
}

export async function fetchImageAttestations(_imageRef: string, _access: RegistryAccess): Promise<ImageAttestations> {
  throw new Error('not implemented yet');
}

import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import { MANIFEST_DIGEST, parseImageReference } from '../src/staging/skopeo.js';
import { replyHeader as header } from './docker/registry-exchange.js';
import { fetchManifest, RegistryClient, sha256Digest, type RegistryAccess } from './oci-registry.js';

/**
 * What a docker destination's tags hold, asked of the registry over its HTTP API: one HEAD per tag, no
 * skopeo process (a skopeo inspect per tag before and after the copy cost more than the copy's own
 * overhead). The copy itself stays with skopeo and its pinned configuration (src/staging/skopeo.ts).
 */

/** A check that hangs is ended here, long before a destination's timeout would end the whole release. */
const CHECK_TIMEOUT_MS = 120_000;

export type TagState =
  { tag: string; state: 'absent' } | { tag: string; state: 'present' } | { tag: string; state: 'conflict'; digest: string };

/**
 * The digest a tag resolves to (of the top-level manifest: the index of a multi-arch image), undefined
 * when the registry has no such tag or repository. One HEAD that accepts every manifest kind, read from
 * its Docker-Content-Digest (distribution-spec spec.md "Pulling manifests", "Checking if content exists
 * in the registry"); a registry that leaves the header out, or names another algorithm, is asked for the
 * bytes, which are hashed here. The registry is the judge of what it serves under a tag: the digest it
 * names is the one a pull of that tag verifies against.
 */
export async function manifestDigest(client: RegistryClient, tag: string): Promise<string | undefined> {
  const head = await fetchManifest(client, 'HEAD', tag);
  if (head === undefined) return undefined;
  const claimed = header(head, 'docker-content-digest');
  if (claimed !== undefined && MANIFEST_DIGEST.test(claimed)) return claimed;
  const get = await fetchManifest(client, 'GET', tag);
  if (get === undefined) return undefined;
  const digest = sha256Digest(get.body);
  const said = header(get, 'docker-content-digest');
  if (said !== undefined && MANIFEST_DIGEST.test(said) && said !== digest) {
    throw new ReleaseBotError(
      ErrorCode.ArtifactMismatch,
      `${client.host}/${client.repoPath}:${tag} was served as ${said} but its bytes hash to ${digest}: something between us and the registry changed it`,
    );
  }
  return digest;
}

/**
 * A registry failure in the words skopeo's failures use (details.reason `unauthorized`, `server-error`),
 * so a docker destination reads alike whichever tool met the problem.
 */
function checkError(err: unknown, what: string): unknown {
  if (!(err instanceof ReleaseBotError) || err.code !== ErrorCode.DestinationFailed) return err;
  const reason = err.details.reason === 'auth' ? 'unauthorized' : err.details.reason === 'server' ? 'server-error' : err.details.reason;
  const message = reason === 'unauthorized' ? `${what}: the registry refused the credentials (${err.message})` : `${what}: ${err.message}`;
  return new ReleaseBotError(err.code, message, { retryable: err.retryable, cause: err, details: { ...err.details, reason } });
}

/** What a tag or digest reference resolves to (manifestDigest), a failure told in the words skopeo's use. */
export async function digestAt(client: RegistryClient, reference: string): Promise<string | undefined> {
  try {
    return await manifestDigest(client, reference);
  } catch (err) {
    throw checkError(err, `checking ${client.host}/${client.repoPath}${MANIFEST_DIGEST.test(reference) ? '@' : ':'}${reference}`);
  }
}

/**
 * What each tag holds: absent, our digest (present) or another one (conflict: never overwritten).
 * `repository` is `host/path`; `access` carries the destination's credentials and the release's redaction.
 */
export async function checkTags(
  host: string,
  path: string,
  access: RegistryAccess & { signal: AbortSignal },
  tags: readonly string[],
  digest: string,
): Promise<TagState[]> {
  const signal = AbortSignal.any([access.signal, AbortSignal.timeout(CHECK_TIMEOUT_MS)]);
  const client = new RegistryClient(host, path, { ...access, signal }, 'pull');
  const states: TagState[] = [];
  for (const tag of tags) {
    const existing = await digestAt(client, tag);
    if (existing === undefined) states.push({ tag, state: 'absent' });
    else if (existing === digest) states.push({ tag, state: 'present' });
    else states.push({ tag, state: 'conflict', digest: existing });
  }
  return states;
}

/**
 * The digest an image reference (`host/path@sha256:…` or `host/path:tag`) resolves to on the staging
 * registry, asked anonymously as skopeo inspect asked it (no credential goes to the staging registry):
 * one HEAD, no process. NOT_FOUND when the registry has no such reference.
 */
export async function stagedImageDigest(
  ref: string,
  options: { tlsVerify: boolean; redact: (text: string) => string; signal?: AbortSignal },
): Promise<string> {
  const image = parseImageReference(ref);
  const reference = image.digest ?? (image.tag as string);
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(CHECK_TIMEOUT_MS)])
    : AbortSignal.timeout(CHECK_TIMEOUT_MS);
  const client = new RegistryClient(image.host, image.path, { tlsVerify: options.tlsVerify, signal, redact: options.redact }, 'pull');
  const digest = await digestAt(client, reference);
  if (digest === undefined)
    throw new ReleaseBotError(ErrorCode.NotFound, `${ref} is not in the staging registry (deleted or never pushed)`);
  return digest;
}

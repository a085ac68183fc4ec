import type { YankContext } from '../../src/publishing/types.js';
import { clip } from '../../src/validate.js';
import type { DockerYankOptions } from '../docker-yank.js';
import { fetchManifest, MAX_MANIFEST_BYTES, type RegistryClient } from '../oci-registry.js';

/**
 * Why the yanked manifest must not be deleted, if it must not: deleting by digest drops every tag on it
 * (distribution-spec "Deleting Manifests"), and a tag that is not this version's own (another version
 * released from the same bytes, or one set by hand) would go with it. Tags are listed and each is asked
 * for its digest; a listing the registry pages, or one that fails, keeps the manifest.
 */
export async function otherTagsOn(
  ctx: YankContext,
  opts: DockerYankOptions,
  client: RegistryClient,
  digest: string,
): Promise<string | undefined> {
  const escape = (t: string) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const own = opts.tags
    .filter((t) => t.includes('{'))
    .map(
      (t) =>
        new RegExp(
          `^${escape(t).replaceAll(escape('{version}'), escape(ctx.version)).replaceAll(escape('{build}'), '[A-Za-z0-9_.-]+').replaceAll(escape('{project}'), escape(ctx.project))}$`,
        ),
    );
  const list = await client.call({ method: 'GET', url: client.repoUrl('tags/list'), limit: MAX_MANIFEST_BYTES });
  if (list.headers.link)
    return `${opts.repository} lists its tags in pages, so they cannot all be checked: ${ctx.version}'s manifest was not deleted`;
  let tags: unknown;
  try {
    tags = (JSON.parse(list.body.toString('utf8')) as { tags?: unknown }).tags;
  } catch {
    return `${opts.repository} answered its tag list with something that is not JSON, so the tags on the image cannot be checked: ${ctx.version}'s manifest was not deleted`;
  }
  const others: string[] = [];
  for (const tag of Array.isArray(tags) ? tags.filter((t): t is string => typeof t === 'string') : []) {
    if (own.some((re) => re.test(tag))) continue;
    const head = await fetchManifest(client, 'HEAD', encodeURIComponent(tag));
    if (head !== undefined && head.headers['docker-content-digest'] === digest) others.push(tag);
  }
  if (others.length === 0) return undefined;
  return `its image is also tagged ${clip(others.join(', '), 200)} (another version's, or set by hand), which deleting it would remove: not deleted`;
}

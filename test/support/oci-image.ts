import { execFile } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './require-binary.js';

const execFileAsync = promisify(execFile);

/** HOME inside the work dir: no user or machine-wide login of the test runner leaks into skopeo. */
function toolEnv(workDir: string): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, HOME: workDir, TMPDIR: workDir };
}

export interface OciLayout {
  /** `oci:<layout dir>:<tag>`, a skopeo source. */
  source: string;
  /** The manifest digest inside the layout (of the index, for a multi-arch image). */
  digest: string;
  /** For a multi-arch image: each platform (`os/arch`) and the digest of its manifest. */
  platforms?: Record<string, string>;
}

interface LayoutIndex {
  schemaVersion: 2;
  manifests: Array<{
    mediaType: string;
    digest: string;
    size: number;
    annotations?: Record<string, string>;
    platform?: { os: string; architecture: string };
  }>;
}

/**
 * Builds a tiny OCI image (one layer holding `/hello.txt` with `content`) in a new umoci layout
 * under `workDir` (Debian package `umoci`). Different content gives a different digest.
 */
export async function buildTinyImage(workDir: string, content = `hello ${randomUUID()}\n`): Promise<OciLayout> {
  requireBinary('umoci', 'umoci');
  const dir = path.join(workDir, `oci-${randomUUID()}`);
  mkdirSync(dir, { recursive: true });
  const layout = path.join(dir, 'layout');
  const file = path.join(dir, 'hello.txt');
  writeFileSync(file, content);
  const env = toolEnv(workDir);
  await execFileAsync('umoci', ['init', '--layout', layout], { env });
  await execFileAsync('umoci', ['new', '--image', `${layout}:image`], { env });
  await execFileAsync('umoci', ['insert', '--image', `${layout}:image`, file, '/hello.txt'], { env });
  const index = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Array<{ digest: string }> };
  const digest = index.manifests[0]?.digest;
  if (!digest) throw new Error(`umoci wrote no manifest into ${layout}`);
  return { source: `oci:${layout}:image`, digest };
}

/**
 * Builds a multi-arch image: one tiny image per platform (`umoci config --os --architecture` on a
 * copy of the same layer), and an OCI image index listing them with their platforms, written into
 * the layout as a blob and tagged `multi` in its index.json (image-spec image-index.md, image-layout.md).
 * Default platforms are neither of a release machine's usual ones (amd64, arm64 would be one):
 * linux/s390x and linux/ppc64le, so nothing can fall back on "the machine's own platform".
 */
export async function buildMultiArchImage(
  workDir: string,
  platforms: Array<[os: string, arch: string]> = [
    ['linux', 's390x'],
    ['linux', 'ppc64le'],
  ],
  content = `multi ${randomUUID()}\n`,
): Promise<OciLayout> {
  const base = await buildTinyImage(workDir, content);
  const layout = base.source.slice('oci:'.length, -':image'.length);
  const env = toolEnv(workDir);
  for (const [os, arch] of platforms) {
    await execFileAsync('umoci', ['config', '--image', `${layout}:image`, '--os', os, '--architecture', arch, '--tag', `${os}-${arch}`], {
      env,
    });
  }
  const indexFile = path.join(layout, 'index.json');
  const tags = JSON.parse(readFileSync(indexFile, 'utf8')) as LayoutIndex;
  const byTag = (tag: string) => {
    const m = tags.manifests.find((x) => x.annotations?.['org.opencontainers.image.ref.name'] === tag);
    if (!m) throw new Error(`umoci wrote no ${tag} into ${layout}`);
    return m;
  };
  const index = {
    schemaVersion: 2,
    mediaType: 'application/vnd.oci.image.index.v1+json',
    manifests: platforms.map(([os, arch]) => {
      const m = byTag(`${os}-${arch}`);
      return { mediaType: m.mediaType, digest: m.digest, size: m.size, platform: { architecture: arch, os } };
    }),
  };
  const bytes = Buffer.from(JSON.stringify(index));
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(path.join(layout, 'blobs', 'sha256', hex), bytes);
  tags.manifests.push({
    mediaType: index.mediaType,
    digest: `sha256:${hex}`,
    size: bytes.length,
    annotations: { 'org.opencontainers.image.ref.name': 'multi' },
  });
  writeFileSync(indexFile, JSON.stringify(tags));
  return {
    source: `oci:${layout}:multi`,
    digest: `sha256:${hex}`,
    platforms: Object.fromEntries(platforms.map(([os, arch]) => [`${os}/${arch}`, byTag(`${os}-${arch}`).digest])),
  };
}

export interface PushOptions {
  workDir: string;
  /** `127.0.0.1:<port>` of a plain-HTTP test registry. */
  host: string;
  /** `org/name` */
  path: string;
  tag: string;
  /** Layer content; a fresh value (so a fresh digest) when absent. */
  content?: string;
  /** Basic-auth credentials, passed to skopeo in an auth file, never on its command line. */
  auth?: { username: string; password: string };
  /** An image built earlier, to push the same digest under another name. */
  image?: OciLayout;
}

export interface PushedImage {
  /** `<host>/<path>`: no transport, no tag (the form of a staged docker artifact's `ref`). */
  repository: string;
  /** `<host>/<path>:<tag>` */
  ref: string;
  digest: string;
  image: OciLayout;
}

/** Builds (or reuses) a tiny image and pushes it (every platform of an index) with `skopeo copy oci:… docker://…`; returns its manifest digest. */
export async function pushTinyImage(options: PushOptions): Promise<PushedImage> {
  requireBinary('skopeo', 'skopeo');
  const image = options.image ?? (await buildTinyImage(options.workDir, options.content));
  const repository = `${options.host}/${options.path}`;
  const ref = `${repository}:${options.tag}`;
  const digestFile = path.join(options.workDir, `pushed-${randomUUID()}`);
  const authArgs: string[] = ['--dest-no-creds'];
  if (options.auth) {
    const authFile = path.join(options.workDir, `auth-${randomUUID()}.json`);
    const auth = Buffer.from(`${options.auth.username}:${options.auth.password}`).toString('base64');
    writeFileSync(authFile, JSON.stringify({ auths: { [options.host]: { auth } } }), { mode: 0o600 });
    authArgs.splice(0, 1, '--dest-authfile', authFile);
  }
  await execFileAsync(
    'skopeo',
    [
      'copy',
      '--all',
      '--quiet',
      '--preserve-digests',
      '--dest-tls-verify=false',
      ...authArgs,
      '--digestfile',
      digestFile,
      image.source,
      `docker://${ref}`,
    ],
    { env: toolEnv(options.workDir) },
  );
  const digest = readFileSync(digestFile, 'utf8').trim();
  if (digest !== image.digest) throw new Error(`pushing ${ref} changed the digest from ${image.digest} to ${digest}`);
  return { repository, ref, digest, image };
}

import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
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
  /** The manifest digest inside the layout. */
  digest: string;
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

/** Builds (or reuses) a tiny image and pushes it with `skopeo copy oci:… docker://…`; returns its manifest digest. */
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
    ['copy', '--quiet', '--preserve-digests', '--dest-tls-verify=false', ...authArgs, '--digestfile', digestFile, image.source, `docker://${ref}`],
    { env: toolEnv(options.workDir) },
  );
  const digest = readFileSync(digestFile, 'utf8').trim();
  if (digest !== image.digest) throw new Error(`pushing ${ref} changed the digest from ${image.digest} to ${digest}`);
  return { repository, ref, digest, image };
}

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../../src/errors.js';
import { checkTags } from '../../publishers/docker-tags.js';

/**
 * The docker destination's tag checks over the registry HTTP API, against a stand-in that speaks the
 * protocol (OCI distribution-spec spec.md "Pulling manifests", "Checking if content exists in the
 * registry": HEAD /v2/<name>/manifests/<reference>, Docker-Content-Digest) in the ways a real
 * docker-registry does not: no digest header on HEAD, a header its bytes do not hash to, a refusal.
 * The happy paths (a tag, a multi-arch index, a conflict) run on a real docker-registry in docker.test.ts.
 */
const USER = 'release-bot';
const PASSWORD = 'canary-tags-pw-41c9e07b';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const manifest = JSON.stringify({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: `sha256:${'4'.repeat(64)}` },
  layers: [],
});
const digestOf = (b: string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const ours = digestOf(manifest);
const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;

interface Seen {
  method: string;
  url: string;
  accept: string | undefined;
  authorization: string | undefined;
}

/** docker-registry with htpasswd: /v2/ asks for Basic; `route` answers a manifest request that carried the right credentials. */
async function stand(
  route: (method: string, url: string) => { status: number; headers?: Record<string, string>; body?: string } | undefined,
) {
  const seen: Seen[] = [];
  const server = http.createServer((req, res) => {
    seen.push({ method: req.method ?? '', url: req.url ?? '', accept: req.headers.accept, authorization: req.headers.authorization });
    if (req.headers.authorization !== basic) {
      res
        .writeHead(401, { 'WWW-Authenticate': 'Basic realm="registry"', 'Content-Type': 'application/json' })
        .end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const a = route(req.method ?? '', req.url ?? '') ?? { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' };
    res.writeHead(a.status, a.headers ?? {}).end(req.method === 'HEAD' ? undefined : a.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { host: `127.0.0.1:${port}`, seen, close: () => new Promise<void>((resolve) => server.close(() => resolve())) };
}

const access = (password = PASSWORD) => ({
  username: USER,
  password,
  tlsVerify: false,
  signal: AbortSignal.timeout(60_000),
  credentialName: 'REGISTRY_PASSWORD',
});

test('one HEAD per tag that accepts every manifest kind: absent, ours and another digest are told apart, no manifest is downloaded', async () => {
  const other = `sha256:${'9'.repeat(64)}`;
  const reg = await stand((method, url) => {
    if (url.endsWith('/manifests/4.2.0')) return { status: 200, headers: { 'Docker-Content-Digest': ours, 'Content-Type': OCI_MANIFEST } };
    if (url.endsWith('/manifests/5.0.0')) return { status: 200, headers: { 'Docker-Content-Digest': other, 'Content-Type': OCI_MANIFEST } };
    return method === 'HEAD' ? { status: 404 } : undefined;
  });
  try {
    await expect(checkTags(reg.host, 'org/conjur-cli', access(), ['4.2.0', '5.0.0', '6.0.0'], ours)).resolves.toEqual([
      { tag: '4.2.0', state: 'present' },
      { tag: '5.0.0', state: 'conflict', digest: other },
      { tag: '6.0.0', state: 'absent' },
    ]);
    const manifests = reg.seen.filter((s) => s.url.includes('/manifests/'));
    expect(manifests.map((s) => `${s.method} ${s.url}`)).toEqual(
      ['4.2.0', '5.0.0', '6.0.0'].map((t) => `HEAD /v2/org/conjur-cli/manifests/${t}`),
    );
    for (const s of manifests) {
      // Without the index type a registry would answer for one platform of a multi-arch image.
      expect(s.accept?.split(', ').sort()).toEqual([
        'application/vnd.docker.distribution.manifest.list.v2+json',
        'application/vnd.docker.distribution.manifest.v2+json',
        'application/vnd.oci.image.index.v1+json',
        OCI_MANIFEST,
      ]);
      expect(s.authorization).toBe(basic);
    }
  } finally {
    await reg.close();
  }
});

test('a registry that names no digest on HEAD is asked for the bytes, which are hashed here', async () => {
  const reg = await stand((method, url) =>
    url.endsWith('/manifests/4.2.0') ? { status: 200, headers: { 'Content-Type': OCI_MANIFEST }, body: manifest } : undefined,
  );
  try {
    await expect(checkTags(reg.host, 'org/conjur-cli', access(), ['4.2.0'], ours)).resolves.toEqual([{ tag: '4.2.0', state: 'present' }]);
    expect(reg.seen.filter((s) => s.url.includes('/manifests/')).map((s) => s.method)).toEqual(['HEAD', 'GET']);
  } finally {
    await reg.close();
  }
});

test('bytes that do not hash to the digest the registry names for them are refused, not taken for either', async () => {
  const reg = await stand((method, url) =>
    url.endsWith('/manifests/4.2.0')
      ? {
          status: 200,
          headers: { 'Content-Type': OCI_MANIFEST, ...(method === 'GET' ? { 'Docker-Content-Digest': ours } : {}) },
          body: `${manifest} `,
        }
      : undefined,
  );
  try {
    await expect(checkTags(reg.host, 'org/conjur-cli', access(), ['4.2.0'], ours)).rejects.toMatchObject({
      code: ErrorCode.ArtifactMismatch,
      retryable: false,
    });
  } finally {
    await reg.close();
  }
});

test('refused credentials are a final unauthorized failure that names neither the password nor its Basic form', async () => {
  const reg = await stand(() => undefined);
  const wrong = `${PASSWORD}-wrong`;
  try {
    const err = await checkTags(reg.host, 'org/conjur-cli', access(wrong), ['4.2.0'], ours).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: false, details: { reason: 'unauthorized', status: 401 } });
    const text = `${String(err)} ${JSON.stringify((err as { details?: unknown }).details)}`;
    expect(text).toMatch(/refused the credentials/);
    for (const form of [wrong, Buffer.from(`${USER}:${wrong}`).toString('base64').replace(/=+$/, '')]) expect(text).not.toContain(form);
  } finally {
    await reg.close();
  }
});

test('the checks go straight to the registry: a proxy named in the environment gets no connection, and so never the credential', async () => {
  const reg = await stand((method, url) =>
    url.endsWith('/manifests/4.2.0') ? { status: 200, headers: { 'Docker-Content-Digest': ours } } : undefined,
  );
  let proxied = 0;
  const trap = http.createServer((_req, res) => {
    proxied += 1;
    res.writeHead(502).end();
  });
  trap.on('connection', () => (proxied += 1));
  await new Promise<void>((resolve) => trap.listen(0, '127.0.0.1', resolve));
  const proxy = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
  const saved = { HTTP_PROXY: process.env.HTTP_PROXY, HTTPS_PROXY: process.env.HTTPS_PROXY, NO_PROXY: process.env.NO_PROXY };
  Object.assign(process.env, { HTTP_PROXY: proxy, HTTPS_PROXY: proxy, NO_PROXY: '' });
  try {
    await expect(checkTags(reg.host, 'org/conjur-cli', access(), ['4.2.0'], ours)).resolves.toEqual([{ tag: '4.2.0', state: 'present' }]);
    expect(proxied).toBe(0);
    expect(reg.seen.filter((s) => s.url.includes('/manifests/')).map((s) => s.authorization)).toEqual([basic]);
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    await new Promise<void>((resolve) => trap.close(() => resolve()));
    await reg.close();
  }
});

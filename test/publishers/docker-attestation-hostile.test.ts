import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ErrorCode } from '../../src/errors.js';
import { fetchImageAttestations } from '../../publishers/docker-attestation.js';

/**
 * `provenance verify <image-ref>` reads a registry that whoever publishes the image controls, not the
 * verifier: a hostile registry, speaking the protocol (OCI distribution-spec spec.md, "Pulling
 * manifests", "Pulling blobs"; a 307 blob redirect as distribution's storage middleware sends one) but
 * lying in its answers. A real docker-registry never sends these, so a small stand-in does: every answer
 * is bounded, checked against its digest, and the credentials never follow a redirect to another origin.
 */
const USER = 'verifier';
const PASSWORD = 'canary-verifier-pw-6e2a91d4';
const DSSE = 'application/vnd.dsse.envelope.v1+json';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';

interface Answer {
  status: number;
  headers?: Record<string, string>;
  body?: Buffer | string;
  /** Streams this many bytes of filler instead of `body`, stopping when the client goes away. */
  flood?: number;
}
interface Seen {
  url: string;
  authorization: string | undefined;
}

async function stand(
  route: (url: string, authorization?: string) => Answer | undefined,
  openPing = false,
): Promise<{ host: string; seen: Seen[]; sent: () => number; close: () => Promise<void> }> {
  const seen: Seen[] = [];
  let sent = 0;
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', authorization: req.headers.authorization });
    if (req.url === '/v2/') {
      res.writeHead(openPing ? 200 : 401, openPing ? {} : { 'WWW-Authenticate': 'Basic realm="hostile"' }).end();
      return;
    }
    const a = route(req.url ?? '', req.headers.authorization) ?? { status: 404, body: '{"errors":[{"code":"MANIFEST_UNKNOWN"}]}' };
    res.writeHead(a.status, a.headers ?? {});
    if (a.flood === undefined) {
      res.end(a.body);
      return;
    }
    const chunk = Buffer.alloc(64 * 1024, 0x61);
    const pump = () => {
      while (sent < (a.flood as number)) {
        sent += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end();
    };
    res.on('close', () => res.destroy());
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    seen,
    sent: () => sent,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

const digestOf = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;
const access = { username: USER, password: PASSWORD, tlsVerify: false };
const image = JSON.stringify({
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: digestOf('{}') },
  layers: [],
});
const imageDigest = digestOf(image);
const attTag = `sha256-${imageDigest.slice(7)}.att`;
const envelope = Buffer.from('{"payloadType":"application/vnd.in-toto+json","payload":"e30=","signatures":[]}\n');

function attManifest(layers: Array<{ mediaType: string; digest: string; size: number }>): string {
  return JSON.stringify({
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', size: 2, digest: digestOf('{}') },
    layers,
  });
}

/** A registry serving `image` under tag 1.0.0 and `att` under its attestation tag; `blob` answers blob GETs. */
function registry(att: string, blob: (url: string) => Answer | undefined) {
  return stand((url) => {
    if (url === '/v2/org/app/manifests/1.0.0' || url === `/v2/org/app/manifests/${imageDigest}`)
      return { status: 200, headers: { 'Content-Type': OCI_MANIFEST }, body: image };
    if (url === `/v2/org/app/manifests/${attTag}`) return { status: 200, headers: { 'Content-Type': OCI_MANIFEST }, body: att };
    if (url.startsWith('/v2/org/app/blobs/')) return blob(url);
    return undefined;
  });
}

test('a registry whose /v2/ is open to all but a repository is not: the challenge of that request is answered once, with the credentials', async () => {
  const basic = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`;
  const reg = await stand((url, authorization): Answer | undefined => {
    if (authorization !== basic)
      return { status: 401, headers: { 'WWW-Authenticate': 'Basic realm="private"' }, body: '{"errors":[{"code":"UNAUTHORIZED"}]}' };
    if (url === '/v2/org/app/manifests/1.0.0') return { status: 200, headers: { 'Content-Type': OCI_MANIFEST }, body: image };
    return undefined;
  }, true);
  try {
    await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access)).resolves.toEqual({
      subjectDigest: imageDigest,
      envelopes: [],
    });
    expect(reg.seen.map((s) => [s.url, s.authorization === basic])).toEqual([
      ['/v2/', false],
      ['/v2/org/app/manifests/1.0.0', false],
      ['/v2/org/app/manifests/1.0.0', true],
      [`/v2/org/app/manifests/${attTag}`, true],
    ]);
    await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, { ...access, password: 'wrong' })).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: false,
      details: { reason: 'auth', status: 401 },
    });
  } finally {
    await reg.close();
  }
});

test('a blob redirected to another origin is followed without our credentials; the bytes are still checked', async () => {
  const storage = await stand((url) => (url === '/bucket/envelope' ? { status: 200, body: envelope } : undefined));
  const reg = await registry(attManifest([{ mediaType: DSSE, digest: digestOf(envelope), size: envelope.length }]), () => ({
    status: 307,
    headers: { Location: `http://${storage.host}/bucket/envelope` },
  }));
  try {
    await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access)).resolves.toEqual({
      subjectDigest: imageDigest,
      envelopes: [envelope],
    });
    expect(
      reg.seen
        .filter((s) => s.url !== '/v2/')
        .every((s) => s.authorization === `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}`),
    ).toBe(true);
    expect(storage.seen).toEqual([{ url: '/bucket/envelope', authorization: undefined }]);
  } finally {
    await Promise.all([reg.close(), storage.close()]);
  }
});

test('where a redirect leads cannot ask for our credentials: its 401 with a Bearer realm of its own is a plain failure', async () => {
  let realm = '';
  // The realm is the redirect target itself: a token request would show up there with the credentials.
  const storage = await stand((url) =>
    url === '/bucket/envelope'
      ? { status: 401, headers: { 'WWW-Authenticate': `Bearer realm="${realm}",service="storage"` } }
      : { status: 200, body: '{"token":"t"}' },
  );
  realm = `http://${storage.host}/token`;
  const reg = await registry(attManifest([{ mediaType: DSSE, digest: digestOf(envelope), size: envelope.length }]), () => ({
    status: 307,
    headers: { Location: `http://${storage.host}/bucket/envelope` },
  }));
  try {
    await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access)).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      details: { status: 401 },
    });
    expect(storage.seen).toEqual([{ url: '/bucket/envelope', authorization: undefined }]);
  } finally {
    await Promise.all([reg.close(), storage.close()]);
  }
});

test('a layer that serves more bytes than its descriptor says is cut off and refused, not read whole', async () => {
  const reg = await registry(attManifest([{ mediaType: DSSE, digest: digestOf(envelope), size: envelope.length }]), () => ({
    status: 200,
    flood: 256 * 1024 * 1024,
  }));
  try {
    await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access)).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      details: { reason: 'too-large' },
    });
    expect(reg.sent()).toBeLessThan(256 * 1024 * 1024);
  } finally {
    await reg.close();
  }
});

test('a tag whose manifest is larger than a manifest may be is refused unread', async () => {
  const reg = await stand((url) =>
    url === '/v2/org/app/manifests/1.0.0'
      ? { status: 200, headers: { 'Content-Type': OCI_MANIFEST }, flood: 256 * 1024 * 1024 }
      : undefined,
  );
  try {
    await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access)).rejects.toMatchObject({ details: { reason: 'too-large' } });
    expect(reg.sent()).toBeLessThan(256 * 1024 * 1024);
  } finally {
    await reg.close();
  }
});

test('a layer whose bytes do not hash to its digest, a non-DSSE layer, an oversized one or too many are refused', async () => {
  const other = Buffer.from(envelope.toString().replace('e30=', 'e31='));
  const cases: Array<[string, Array<{ mediaType: string; digest: string; size: number }>, ErrorCode, string]> = [
    [
      'other bytes',
      [{ mediaType: DSSE, digest: digestOf(envelope), size: other.length }],
      ErrorCode.ArtifactMismatch,
      'served other bytes',
    ],
    [
      'a tar layer',
      [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: digestOf(other), size: other.length }],
      ErrorCode.ArtifactMismatch,
      'not a DSSE envelope',
    ],
    [
      'a 1 GiB envelope',
      [{ mediaType: DSSE, digest: digestOf(other), size: 1024 ** 3 }],
      ErrorCode.ArtifactMismatch,
      'not a DSSE envelope',
    ],
    [
      '65 layers',
      Array.from({ length: 65 }, () => ({ mediaType: DSSE, digest: digestOf(other), size: other.length })),
      ErrorCode.ArtifactMismatch,
      '65 layers',
    ],
  ];
  for (const [, layers, code, message] of cases) {
    const reg = await registry(attManifest(layers), () => ({ status: 200, body: other }));
    try {
      await expect(fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access)).rejects.toMatchObject({
        code,
        message: expect.stringContaining(message),
      });
    } finally {
      await reg.close();
    }
  }
});

test('a digest reference served as other bytes is refused: the subject is what the verifier asked for', async () => {
  const wanted = digestOf('the image the verifier has in mind');
  const reg = await stand((url) =>
    url === `/v2/org/app/manifests/${wanted}` ? { status: 200, headers: { 'Content-Type': OCI_MANIFEST }, body: image } : undefined,
  );
  try {
    await expect(fetchImageAttestations(`${reg.host}/org/app@${wanted}`, access)).rejects.toMatchObject({
      code: ErrorCode.ArtifactMismatch,
    });
  } finally {
    await reg.close();
  }
});

test('no secret in any of these refusals', async () => {
  const reg = await registry(attManifest([{ mediaType: DSSE, digest: digestOf(envelope), size: envelope.length }]), () => ({
    status: 500,
    body: `{"errors":[{"code":"UNKNOWN","message":"echo ${PASSWORD} ${Buffer.from(`${USER}:${PASSWORD}`).toString('base64')}"}]}`,
  }));
  try {
    const err = await fetchImageAttestations(`${reg.host}/org/app:1.0.0`, access).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable: true, details: { reason: 'server' } });
    const text = `${String(err)} ${JSON.stringify((err as { details?: unknown }).details)}`;
    expect(text).not.toContain(PASSWORD);
    expect(text).not.toContain(Buffer.from(`${USER}:${PASSWORD}`).toString('base64'));
  } finally {
    await reg.close();
  }
});

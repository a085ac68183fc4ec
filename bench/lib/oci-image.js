// Builds OCI image layouts with random layers (so every image has fresh blobs that no registry holds
// yet) and pushes them to a loopback registry with skopeo. Written for the benches: no umoci needed.
import { createHash, randomFillSync } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync, writeSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { runProcess } from './util.js';

/** A ustar header for one regular file. */
function tarHeader(name, size) {
  const h = Buffer.alloc(512);
  const put = (text, offset, length) => h.write(text, offset, length, 'ascii');
  put(name, 0, 100);
  put('0000644\0', 100, 8);
  put('0000000\0', 108, 8);
  put('0000000\0', 116, 8);
  put(`${size.toString(8).padStart(11, '0')}\0`, 124, 12);
  put(
    `${Math.floor(Date.now() / 1000)
      .toString(8)
      .padStart(11, '0')}\0`,
    136,
    12,
  );
  put('        ', 148, 8);
  put('0', 156, 1);
  put('ustar\0', 257, 6);
  put('00', 263, 2);
  let sum = 0;
  for (const byte of h) sum += byte;
  put(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8);
  return h;
}

/** Writes a blob through `write(fd, hash)` and files it under its digest. */
function writeBlob(blobs, write) {
  const tmp = path.join(blobs, `.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`);
  const hash = createHash('sha256');
  const fd = openSync(tmp, 'wx');
  let size = 0;
  try {
    write((buf) => {
      writeSync(fd, buf);
      hash.update(buf);
      size += buf.length;
    });
  } finally {
    closeSync(fd);
  }
  const hex = hash.digest('hex');
  renameSync(tmp, path.join(blobs, hex));
  return { digest: `sha256:${hex}`, size };
}

/**
 * An OCI layout in `dir` with `layers` gzip layers of `layerBytes` random bytes each. Gzip level 0
 * (stored blocks): a registry push keeps them as they are, and nothing spends time compressing noise.
 */
export function buildImage(dir, { layers, layerBytes }) {
  const blobs = path.join(dir, 'blobs', 'sha256');
  mkdirSync(blobs, { recursive: true });
  const layerDescs = [];
  const diffIds = [];
  for (let i = 0; i < layers; i++) {
    const pad = (512 - (layerBytes % 512)) % 512;
    const tar = Buffer.alloc(512 + layerBytes + pad + 1024);
    tarHeader(`layer-${i}.bin`, layerBytes).copy(tar, 0);
    randomFillSync(tar, 512, layerBytes);
    diffIds.push(`sha256:${createHash('sha256').update(tar).digest('hex')}`);
    const gz = gzipSync(tar, { level: 0 });
    layerDescs.push(writeBlob(blobs, (emit) => emit(gz)));
  }
  const json = (value) => (emit) => emit(Buffer.from(JSON.stringify(value)));
  const config = writeBlob(blobs, json({ architecture: 'amd64', os: 'linux', config: {}, rootfs: { type: 'layers', diff_ids: diffIds } }));
  const manifest = writeBlob(
    blobs,
    json({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
      layers: layerDescs.map((l) => ({ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', ...l })),
    }),
  );
  writeFileSync(path.join(dir, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(
    path.join(dir, 'index.json'),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: 'application/vnd.oci.image.manifest.v1+json',
          ...manifest,
          annotations: { 'org.opencontainers.image.ref.name': 'image' },
        },
      ],
    }),
  );
  return { layout: dir, digest: manifest.digest, bytes: layers * layerBytes };
}

/** HOME and TMPDIR in a private dir: no user configuration, login or blob-info cache carries over between runs. */
export function skopeoEnv(home) {
  mkdirSync(home, { recursive: true });
  return { PATH: process.env.PATH, HOME: home, TMPDIR: home };
}

/**
 * skopeo copy between plain-HTTP loopback locations; returns the pushed manifest digest and the wall
 * time. `destCreds` (`user:password`) logs in to the destination as the bot does (an auth file).
 */
export async function skopeoCopy(from, to, home, { destCreds } = {}) {
  const digestFile = path.join(home, `digest-${Date.now()}-${Math.random().toString(36).slice(2)}`);
  const env = skopeoEnv(home);
  const auth = [];
  if (destCreds) {
    const authFile = path.join(home, 'auth.json');
    const host = to.replace(/^docker:\/\//, '').split('/')[0];
    writeFileSync(authFile, JSON.stringify({ auths: { [host]: { auth: Buffer.from(destCreds).toString('base64') } } }), { mode: 0o600 });
    auth.push('--dest-authfile', authFile);
  }
  const { wallMs } = await runProcess(
    'skopeo',
    ['copy', '--quiet', '--src-tls-verify=false', '--dest-tls-verify=false', ...auth, '--digestfile', digestFile, from, to],
    { env, timeoutMs: 10 * 60_000 },
  );
  return { digest: readFileSync(digestFile, 'utf8').trim(), wallMs };
}

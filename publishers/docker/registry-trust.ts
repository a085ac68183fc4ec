import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The CA certificates skopeo trusts for a registry, so that a registry HEAD and the skopeo copy of the
 * same release trust the same certificates, and a credential never goes where skopeo would refuse to
 * send it. skopeo is Go: its roots are the file named by SSL_CERT_FILE, else the first system bundle
 * found (go src/crypto/x509/root_linux.go certFiles); containers/image adds every `*.crt` of the
 * registry's `certs.d/<host:port>/` directory (docs/containers-certs.d.5.md; docker/docker_client.go
 * reads /etc/containers/certs.d and /etc/docker/certs.d; the per-user one is in skopeo's private HOME
 * here, so it is empty). Node's own bundled roots, which skopeo never sees, are not used.
 * Undefined when none of these exists: then Node's defaults apply.
 */
const SYSTEM_BUNDLES = [
  '/etc/ssl/certs/ca-certificates.crt',
  '/etc/pki/tls/certs/ca-bundle.crt',
  '/etc/ssl/ca-bundle.pem',
  '/etc/pki/tls/cacert.pem',
  '/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem',
  '/etc/ssl/cert.pem',
];
const CERTS_D = ['/etc/containers/certs.d', '/etc/docker/certs.d'];

function readIfThere(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** `host` is the registry's `host[:port]`, as in an image reference. */
export function registryCas(host: string, env: NodeJS.ProcessEnv = process.env): string[] | undefined {
  const bundle = env.SSL_CERT_FILE ? readIfThere(env.SSL_CERT_FILE) : SYSTEM_BUNDLES.map(readIfThere).find((b) => b !== undefined);
  const perHost: string[] = [];
  for (const dir of CERTS_D) {
    const hostDir = path.join(dir, host);
    // A host name is never a path: "..", a slash or an empty name would read another directory.
    if (path.dirname(hostDir) !== dir) continue;
    let names: string[];
    try {
      names = readdirSync(hostDir).filter((n) => n.endsWith('.crt'));
    } catch {
      continue;
    }
    for (const name of names.sort()) {
      const pem = readIfThere(path.join(hostDir, name));
      if (pem !== undefined) perHost.push(pem);
    }
  }
  const all = [...(bundle === undefined ? [] : [bundle]), ...perHost];
  return all.length > 0 ? all : undefined;
}

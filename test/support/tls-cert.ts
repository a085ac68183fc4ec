import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { requireBinary } from './require-binary.js';

const run = promisify(execFile);

/**
 * A self-signed certificate for 127.0.0.1 (RSA 2048, one day, subjectAltName IP:127.0.0.1), written as
 * `key.pem` and `cert.pem` in `dir` with openssl: its own CA, trusted only where a test puts it.
 */
export async function selfSignedLoopbackCert(dir: string): Promise<{ key: string; cert: string }> {
  requireBinary('openssl', 'openssl');
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    key,
    '-out',
    cert,
    '-days',
    '1',
    '-subj',
    '/CN=127.0.0.1',
    '-addext',
    'subjectAltName=IP:127.0.0.1',
  ]);
  return { key, cert };
}

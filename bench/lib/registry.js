// Loopback docker-registry instances (Debian package docker-registry) for the release-overhead bench.
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { freePort, makeTmpDir, removeTmpDir, runProcess, startProcess, stopProcess, waitForHttp } from './util.js';

/**
 * Starts docker-registry on 127.0.0.1:<free port>, storage in its own temp dir; `stop()` removes it.
 * With `auth: { username, password }` it asks for basic auth (htpasswd, bcrypt: apache2-utils).
 */
export async function startRegistry({ auth } = {}) {
  const dir = makeTmpDir('release-bot-bench-registry-');
  const port = await freePort();
  const config = path.join(dir, 'config.yml');
  const htpasswd = path.join(dir, 'htpasswd');
  if (auth) writeFileSync(htpasswd, (await runProcess('htpasswd', ['-Bbn', auth.username, auth.password])).stdout);
  writeFileSync(
    config,
    [
      'version: 0.1',
      'log:',
      '  level: warn',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${JSON.stringify(path.join(dir, 'storage'))}`,
      'http:',
      `  addr: 127.0.0.1:${port}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      ...(auth ? ['auth:', '  htpasswd:', '    realm: bench', `    path: ${JSON.stringify(htpasswd)}`] : []),
      '',
    ].join('\n'),
  );
  const proc = startProcess('docker-registry', ['serve', config]);
  const stop = async () => {
    await stopProcess(proc);
    removeTmpDir(dir);
  };
  try {
    await waitForHttp(`http://127.0.0.1:${port}/v2/`, proc); // 200, or 401 when auth is on
  } catch (err) {
    await stop();
    throw err;
  }
  return { host: `127.0.0.1:${port}`, port, stop };
}

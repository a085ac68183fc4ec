import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, statSync, writeFileSync, chmodSync } from 'node:fs';
import path from 'node:path';
import { execPublisher } from '../../publishers/exec.js';
import { npmPublisher } from '../../publishers/npm.js';
import { ErrorCode } from '../../src/errors.js';
import { destinationCredentials, withBinaryCredentials } from '../../src/release/destination-credentials.js';
import { publishContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

const KEYSTORE = Buffer.concat([Buffer.from([0x30, 0x82, 0x00, 0xff]), randomBytes(200), Buffer.from([0x00, 0xfe])]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe("how a release's secrets become a destination's credentials", () => {
  const secrets = new Map<string, string | Buffer>([
    ['release/keystore', KEYSTORE],
    ['release/password', 'keystore-password-canary'],
  ]);

  it('text stays text; binary values go apart, only to a publisher that takes bytes', () => {
    const exec = destinationCredentials(
      { name: 'sign', type: 'exec', credentials: { KEYSTORE: 'release/keystore', KEYSTORE_PASSWORD: 'release/password' } },
      execPublisher,
      secrets,
    );
    expect(exec.credentials).toEqual({ KEYSTORE_PASSWORD: 'keystore-password-canary' });
    expect(Object.keys(exec.binary)).toEqual(['KEYSTORE']);
    expect(exec.binary.KEYSTORE?.equals(KEYSTORE)).toBe(true);
  });

  it('refuses a binary value for a publisher that needs text, naming the variable, the destination and the fix, never the value', () => {
    const call = () =>
      destinationCredentials({ name: 'npmjs', type: 'npm', credentials: { NPM_TOKEN: 'release/keystore' } }, npmPublisher, secrets);
    expect(call).toThrow('release/keystore');
    expect(call).toThrow('exec destination');
    expect(call).toThrow(expect.objectContaining({ code: ErrorCode.ConfigInvalid }));
    let message = '';
    try {
      call();
    } catch (err) {
      message = `${(err as Error).message} ${JSON.stringify((err as { details?: unknown }).details)}`;
    }
    expect(message).toContain('npmjs');
    expect(message).not.toContain(KEYSTORE.toString('base64'));
  });

  it('the exec publisher gets the bytes in a 0600 file named by <NAME>_FILE, text credentials in both forms', async () => {
    const tmp = makeTmpDir();
    try {
      const script = path.join(tmp.dir, 'publish.sh');
      const out = path.join(tmp.dir, 'out');
      writeFileSync(
        script,
        [
          '#!/bin/sh',
          'set -eu',
          `sha256sum "$KEYSTORE_FILE" | cut -d' ' -f1 > ${out}.sum`,
          `stat -c %a "$KEYSTORE_FILE" > ${out}.mode`,
          `cat "$KEYSTORE_PASSWORD_FILE" > ${out}.pw`,
          `printf '%s' "\${KEYSTORE-unset}" > ${out}.env`,
          '',
        ].join('\n'),
      );
      chmodSync(script, 0o755);
      const ctx = await publishContext(tmp.dir, { 'a.txt': 'a' }, { credentials: { KEYSTORE_PASSWORD: 'keystore-password-canary' } });
      const publisher = withBinaryCredentials(execPublisher, { KEYSTORE });
      await expect(publisher.publish(ctx, execPublisher.options.parse({ command: [script] }))).resolves.toMatchObject({
        status: 'published',
      });
      expect(readFileSync(`${out}.sum`, 'utf8').trim()).toBe(sha256(KEYSTORE));
      expect(readFileSync(`${out}.mode`, 'utf8').trim()).toBe('600');
      expect(readFileSync(`${out}.pw`, 'utf8')).toBe('keystore-password-canary');
      expect(readFileSync(`${out}.env`, 'utf8')).toBe('unset');
      expect(statSync(ctx.tmpDir).isDirectory()).toBe(true);
    } finally {
      tmp.cleanup();
    }
  });

  it('refuses a credential whose _FILE name is taken by another variable of the destination', async () => {
    const tmp = makeTmpDir();
    try {
      const ctx = await publishContext(tmp.dir, { 'a.txt': 'a' }, { credentials: { KEY: 'k-canary-value', KEY_FILE: 'other-canary' } });
      await expect(execPublisher.publish(ctx, execPublisher.options.parse({ command: ['/bin/true'] }))).rejects.toThrow('KEY_FILE');
    } finally {
      tmp.cleanup();
    }
  });
});

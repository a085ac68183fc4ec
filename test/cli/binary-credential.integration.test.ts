import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { runCli } from '../support/cli.js';
import { project, writeProjectsFile } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const API_KEY = `apikey-canary-${'b'.repeat(40)}`;
const PASSWORD = 'keystore-password-canary-71c3e0';
/** A keystore's shape: DER starts 0x30 0x82, NUL bytes, 0xff (never UTF-8), then random bytes. */
const KEYSTORE = Buffer.concat([Buffer.from([0x30, 0x82, 0x00, 0xff, 0xfe, 0x00, 0xc3, 0x28]), randomBytes(600), Buffer.from([0x00])]);
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/**
 * A binary credential (a PKCS#12 keystore: NUL bytes, bytes that are not UTF-8) from Conjur to a
 * publishing script, through `release-bot publish` as a separate process and the Conjur stand-in's
 * batch answer (Accept-Encoding: base64). The script gets it as a file in KEYSTORE_FILE and records
 * the file's sha256; it also prints the keystore (base64, wrapped and not, and hex) to show the
 * bot redacts it from what it logs. Nowhere — output, logs, audit, database — may it appear.
 */
describe('a binary credential reaches an exec script byte for byte through release-bot publish', () => {
  const tmp = makeTmpDir();
  const staging = path.join(tmp.dir, 'staging');
  const out = path.join(tmp.dir, 'out');
  const dataDir = path.join(tmp.dir, 'data');
  const script = path.join(tmp.dir, 'sign-and-publish.sh');
  let conjur: ConjurStandIn;
  let env: NodeJS.ProcessEnv;
  const allOutput: string[] = [];
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    allOutput.push(result.stdout, result.stderr);
    return result;
  };

  beforeAll(async () => {
    conjur = await startConjurStandIn({
      account: 'acme',
      apiKeys: { 'host/release-bot': API_KEY },
      groups: { 'release/signer': ['user:alice'] },
      webservices: membershipSentinels(['release/signer']),
      variables: {
        'release/signing/keystore': { value: KEYSTORE, readers: ['host:release-bot'] },
        'release/signing/password': { value: PASSWORD, readers: ['host:release-bot'] },
      },
    });
    mkdirSync(out);
    writeFileSync(
      script,
      [
        '#!/bin/sh',
        'set -eu',
        `sha256sum "$KEYSTORE_FILE" | cut -d' ' -f1 > ${out}/keystore.sha256`,
        `stat -c %a "$KEYSTORE_FILE" > ${out}/keystore.mode`,
        `printf '%s' "\${KEYSTORE-absent}" > ${out}/keystore.env`,
        `printf '%s' "$KEYSTORE_PASSWORD" > ${out}/password`,
        // What a careless script prints: the bot must redact every one of these.
        'base64 "$KEYSTORE_FILE"',
        'base64 -w0 "$KEYSTORE_FILE"; echo',
        'od -An -v -tx1 "$KEYSTORE_FILE" | tr -d " \\n"; echo',
        'echo "password $KEYSTORE_PASSWORD"',
        '',
      ].join('\n'),
    );
    chmodSync(script, 0o755);
    const signer = { authorized_group: 'release/signer' };
    writeProjectsFile(path.join(tmp.dir, 'releases.yml'), {
      staging_dir: staging,
      projects: {
        'signed-app': project(
          'signed-app',
          [
            {
              name: 'sign',
              type: 'exec',
              command: [script, '{dir}'],
              credentials: { KEYSTORE: 'release/signing/keystore', KEYSTORE_PASSWORD: 'release/signing/password' },
            },
          ],
          signer,
        ),
        'copied-app': project(
          'copied-app',
          [
            {
              name: 'copy',
              type: 'directory',
              path: `${tmp.dir}/copies/{project}/{version}`,
              credentials: { KEYSTORE: 'release/signing/keystore' },
            },
          ],
          signer,
        ),
      },
    });
    env = {
      CONJUR_APPLIANCE_URL: conjur.url,
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: API_KEY,
      RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
      RELEASE_BOT_DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
    };
    for (const name of ['signed-app', 'copied-app']) {
      mkdirSync(path.join(staging, name, '1.0.0'), { recursive: true });
      writeFileSync(path.join(staging, name, '1.0.0', `${name}-1.0.0.tgz`), `${name} bytes`);
    }
  });

  afterAll(async () => {
    await conjur.close();
    tmp.cleanup();
  });

  it('publishes: the script read the keystore from KEYSTORE_FILE (0600) with the exact bytes, the password as text', async () => {
    expect((await cli('stage', 'signed-app', '1.0.0', '--build-number', '7')).code).toBe(0);
    const r = await cli('publish', 'signed-app', '1.0.0', '--as', 'alice');
    expect([r.code, r.stderr]).toEqual([0, expect.any(String)]);
    expect(readFileSync(path.join(out, 'keystore.sha256'), 'utf8').trim()).toBe(sha256(KEYSTORE));
    expect(readFileSync(path.join(out, 'keystore.mode'), 'utf8').trim()).toBe('600');
    expect(readFileSync(path.join(out, 'keystore.env'), 'utf8')).toBe('absent');
    expect(readFileSync(path.join(out, 'password'), 'utf8')).toBe(PASSWORD);
    // Asked once, in one batch, with base64.
    expect(conjur.requests.filter((q) => q.path === '/secrets').map((q) => q.status)).toEqual([200]);
  });

  it('refuses the release of a project whose directory destination would get the binary value, naming the variable; nothing copied', async () => {
    expect((await cli('stage', 'copied-app', '1.0.0', '--build-number', '8')).code).toBe(0);
    const r = await cli('publish', 'copied-app', '1.0.0', '--as', 'alice');
    expect(r.code).not.toBe(0);
    expect(r.stdout + r.stderr).toContain('release/signing/keystore');
    expect(r.stdout + r.stderr).toContain('holds binary data');
    expect(existsSync(path.join(tmp.dir, 'copies'))).toBe(false);
  });

  it('never lets the keystore, in any form, or the password reach output, logs, the audit log or the database', async () => {
    const audit = await cli('audit', 'export', '--jsonl');
    expect(audit.stdout).toContain('signed-app');
    // Every file the bot keeps: the database (and its WAL) and the quarantine of staged files.
    const dbFiles = readdirSync(dataDir, { recursive: true, encoding: 'utf8' })
      .map((f) => path.join(dataDir, f))
      .filter((f) => statSync(f).isFile())
      .map((f) => readFileSync(f));
    const b64 = KEYSTORE.toString('base64');
    const textCanaries = [
      b64,
      b64.replace(/=+$/, ''),
      KEYSTORE.toString('base64url'),
      KEYSTORE.toString('hex'),
      ...(b64.match(/.{76}/g) ?? []), // lines the base64 tool printed
      PASSWORD,
      Buffer.from(PASSWORD).toString('base64'),
    ];
    expect(allOutput.join('')).toContain('publishing script output'); // the scan read the script's logged output
    expect(allOutput.join('')).toContain('[REDACTED]'); // where the script printed the keystore and the password
    for (const text of [...allOutput, audit.stdout, ...dbFiles.map((b) => b.toString('latin1'))]) {
      for (const canary of textCanaries) expect(text.includes(canary) ? canary : 'absent').toBe('absent');
    }
    // The raw bytes, a long stretch of them, in any file of the database.
    for (const file of dbFiles) expect(file.indexOf(KEYSTORE.subarray(8, 200))).toBe(-1);
  });
});

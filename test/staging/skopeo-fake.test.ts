import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { checkSkopeoVersion, MINIMUM_SKOPEO_VERSION, versionAtLeast } from '../../src/staging/skopeo-version.js';
import { inspectDigest } from '../../src/staging/skopeo.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { publishContext, type TestContext } from '../support/publish-context.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * skopeo as it may be installed, played by a shell script first on PATH: an old or foreign
 * `--version`, and failures the bot has never seen (exit statuses, a panic) with a secret in them.
 */
const tmp = makeTmpDir('release-bot-skopeo-fake-');
const savedPath = process.env.PATH;
let n = 0;

afterAll(() => {
  process.env.PATH = savedPath;
  tmp.cleanup();
});

/** A fake skopeo in a fresh directory put first on PATH; every argv is appended to the returned log. */
function fakeSkopeo(version: string, failure = { stderr: '', exit: 0 }, reuse?: string): { dir: string; runs: () => string[] } {
  const dir = reuse ?? path.join(tmp.dir, `bin-${(n += 1)}`);
  mkdirSync(dir, { recursive: true });
  const log = path.join(dir, 'argv.log');
  writeFileSync(path.join(dir, 'stderr'), failure.stderr);
  writeFileSync(
    path.join(dir, 'skopeo'),
    [
      '#!/bin/sh',
      `printf '%s\\n' "$*" >> '${log}'`,
      `if [ "$1" = --version ]; then printf '%s\\n' '${version}'; exit 0; fi`,
      `cat '${path.join(dir, 'stderr')}' >&2`,
      `exit ${failure.exit}`,
      '',
    ].join('\n'),
  );
  chmodSync(path.join(dir, 'skopeo'), 0o755);
  process.env.PATH = `${dir}:${savedPath}`;
  return { dir, runs: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []) };
}

const redact = (t: string) => t;
const REF = '127.0.0.1:1/builds/conjur-cli:4.2.0';

describe('skopeo --version against the minimum the flags need', () => {
  test.each(['skopeo version 1.4.1', 'skopeo version 1.5.2', 'skopeo version 1.5.2 commit: 6a7c1e5b3f9a'])(
    '"%s" is too old: CONFIG_INVALID naming the minimum and what to install, and nothing else runs',
    async (printed) => {
      const fake = fakeSkopeo(printed);
      const err = await inspectDigest(REF, { tlsVerify: false, redact }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.ConfigInvalid, details: { tool: 'skopeo', minimum: '1.6.0' } });
      expect((err as Error).message).toMatch(
        /^skopeo 1\.[45]\.\d is too old: release-bot needs skopeo 1\.6\.0 or newer \(for copy --preserve-digests\); install skopeo 1\.6\.0 or newer \(Debian 12 ships 1\.9\.3: apt-get install skopeo/,
      );
      expect(fake.runs()).toEqual(['--version']);
    },
  );

  test.each(['skopeo version 1.6.0', 'skopeo version 1.9.3', 'skopeo version 1.10.0 commit: 0123abc', 'skopeo version 2.0.0'])(
    '"%s" is enough',
    async (printed) => {
      fakeSkopeo(printed);
      await expect(checkSkopeoVersion(redact)).resolves.toMatch(/^\d+\.\d+\.\d+$/);
    },
  );

  test("output that is not skopeo's is CONFIG_INVALID too", async () => {
    fakeSkopeo('podman version 4.3.1');
    await expect(checkSkopeoVersion(redact)).rejects.toMatchObject({
      code: ErrorCode.ConfigInvalid,
      message: expect.stringContaining('not "skopeo version x.y.z"'),
    });
  });

  test('a failed check is not remembered: replacing skopeo on the same PATH fixes the next run', async () => {
    const fake = fakeSkopeo('skopeo version 1.5.0');
    await expect(inspectDigest(REF, { tlsVerify: false, redact })).rejects.toMatchObject({ code: ErrorCode.ConfigInvalid });
    const notFound =
      'time="2026-01-01T00:00:00Z" level=fatal msg="reading manifest 4.2.0 in 127.0.0.1:1/builds/conjur-cli: manifest unknown"\n';
    fakeSkopeo('skopeo version 1.9.3', { stderr: notFound, exit: 1 }, fake.dir);
    await expect(inspectDigest(REF, { tlsVerify: false, redact })).rejects.toMatchObject({ code: ErrorCode.NotFound });
    expect(fake.runs().map((a) => a.split(' ')[0])).toEqual(['--version', '--version', 'inspect']);
  });

  test('versions compare by number, not as text', () => {
    expect(versionAtLeast('1.10.0', MINIMUM_SKOPEO_VERSION)).toBe(true);
    expect(versionAtLeast('1.6', '1.6.0')).toBe(true);
    expect(versionAtLeast('1.5.9', '1.6.0')).toBe(false);
    expect(versionAtLeast('0.9.0', '0.10.0')).toBe(false);
  });
});

describe('failures the bot does not know, with a secret in them, through the docker publisher', () => {
  // The destination registry: empty (every tag absent, as a registry answers HEAD of an unknown manifest
  // with 404, distribution spec "Checking if content exists"), so the publisher goes on to the copy, which
  // the fake skopeo fails.
  let registry: Server;
  let registryHost = '';
  beforeAll(async () => {
    registry = createServer((req, res) => {
      res.writeHead(req.url === '/v2/' ? 200 : 404, { 'Content-Type': 'application/json' }).end(req.method === 'HEAD' ? undefined : '{}');
    });
    await new Promise<void>((resolve) => registry.listen(0, '127.0.0.1', resolve));
    registryHost = `127.0.0.1:${(registry.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    registry.closeAllConnections();
    await new Promise((resolve) => registry.close(resolve));
  });

  const USER = 'release-bot';
  const PASSWORD = 'canary-fake-skopeo-pw-5b3f9a7c1e';
  const basicAuth = Buffer.from(`${USER}:${PASSWORD}`).toString('base64');
  const forms = [
    PASSWORD,
    basicAuth.replace(/=+$/, ''),
    Buffer.from(PASSWORD).toString('base64').replace(/=+$/, ''),
    encodeURIComponent(`${USER}:${PASSWORD}`),
  ];
  const fatal = (msg: string) => `time="2026-01-01T00:00:00Z" level=fatal msg="${msg}"\n`;
  const leaky = `something new went wrong: sent Authorization: Basic ${basicAuth} for ${USER}:${PASSWORD} (${encodeURIComponent(`${USER}:${PASSWORD}`)})`;
  const panic = `panic: runtime error: invalid memory address or nil pointer dereference [password ${PASSWORD}]\n\ngoroutine 1 [running]:\nmain.main()\n`;

  async function context(): Promise<TestContext> {
    return publishContext(
      path.join(tmp.dir, `ctx-${(n += 1)}`),
      {},
      {
        artifact: { kind: 'docker', ref: '127.0.0.1:1/builds/conjur-cli', digest: `sha256:${'a'.repeat(64)}`, tlsVerify: false },
        credentials: { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD },
      },
    );
  }

  /** Every text a run left behind: the error with its causes and details, logs, progress. */
  function everything(ctx: TestContext, err: unknown): string {
    const parts = [...ctx.logLines, ...ctx.progressLines];
    for (let e = err; e; e = (e as { cause?: unknown }).cause)
      parts.push(String(e), (e as Error).stack ?? '', JSON.stringify((e as { details?: unknown }).details ?? {}));
    return parts.join('\n');
  }

  test.each([
    ['exit 1, a message never seen', fatal(leaky), 1, 'other', false],
    ['exit 2 with a fatal message (skopeo 1.16+: image not found)', fatal(`reading manifest: ${leaky}`), 2, 'not-found', false],
    ['exit 2 from a Go panic', panic, 2, 'crashed', false],
    ['exit 3', fatal(leaky), 3, 'other', false],
    ['exit 125', fatal(leaky), 125, 'other', false],
    ['exit 126 (cannot execute)', `sh: skopeo: Permission denied ${PASSWORD}\n`, 126, 'unsupported', false],
    ['exit 137 (SIGKILL, as a shell reports it)', `Killed ${basicAuth}\n`, 137, 'killed', true],
    [
      'an unknown flag (a skopeo older than the bot expects)',
      fatal(`unknown flag: --preserve-digests ${PASSWORD}`),
      1,
      'unsupported',
      false,
    ],
    [
      'a 503 with the secret echoed',
      fatal(`pinging container registry: invalid status code from registry 503 (Service Unavailable) ${leaky}`),
      1,
      'server-error',
      true,
    ],
  ])('%s: classified, and no form of the password anywhere', async (_what, stderr, exit, reason, retryable) => {
    fakeSkopeo('skopeo version 1.9.3', { stderr, exit });
    const ctx = await context();
    const err = await dockerPublisher
      .publish(ctx, dockerPublisher.options.parse({ repository: `${registryHost}/org/conjur-cli`, tls_verify: false }))
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, retryable, details: { reason } });
    const text = everything(ctx, err);
    expect(text).toContain('[REDACTED]');
    for (const form of forms) expect(text).not.toContain(form);
    if (exit !== 1) expect((err as Error).message).toContain(`exit ${exit}`);
  });
});

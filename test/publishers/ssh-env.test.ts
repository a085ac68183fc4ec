import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { sshPublisher } from '../../publishers/ssh.js';
import { expectOnlyOwnEnv, PARENT_CANARIES, setParentEnv, spyOnTools, type ChildCall } from '../support/child-env.js';
import { publishContext } from '../support/publish-context.js';
import { requireBinary } from '../support/require-binary.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { makeTmpDir } from '../support/tmp.js';

// What ssh, scp and rsync actually receive from the ssh publisher, seen by wrappers first on PATH that
// record their environment and then exec the real tools against a real sshd.
const tmp = makeTmpDir('release-bot-ssh-env-test-');
const remoteRoot = path.join(tmp.dir, 'downloads');
const FILES = { 'conjur-cli-4.2.0.tar.gz': 'tarball bytes\n', 'checksums/SHA256SUMS': 'abc  conjur-cli-4.2.0.tar.gz\n' };
let sshd: TestSshd;
let spy: ReturnType<typeof spyOnTools>;
let n = 0;

beforeAll(async () => {
  requireBinary('sha256sum', 'coreutils');
  mkdirSync(remoteRoot);
  sshd = await startSshd();
  spy = spyOnTools(tmp.dir, {
    ssh: { real: requireBinary('ssh', 'openssh-client') },
    scp: { real: requireBinary('scp', 'openssh-client') },
    rsync: { real: requireBinary('rsync', 'rsync') },
  });
});

afterAll(async () => {
  await sshd?.stop();
  tmp.cleanup();
});

async function publish(version: string, method: 'scp' | 'rsync') {
  const ctx = await publishContext(path.join(tmp.dir, `ctx-${(n += 1)}`), FILES, {
    version,
    credentials: { SSH_PRIVATE_KEY: sshd.clientKey.privateKey },
  });
  const opts = sshPublisher.options.parse({
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    path: `${remoteRoot}/{project}/{version}`,
    known_hosts: sshd.hostKeyLine,
    method,
  });
  const before = spy.calls().length;
  const restore = setParentEnv({ ...PARENT_CANARIES, PATH: `${spy.bin}:${process.env.PATH}` });
  try {
    await expect(sshPublisher.publish(ctx, opts)).resolves.toMatchObject({ status: 'published' });
  } finally {
    restore();
  }
  return { ctx, calls: spy.calls().slice(before) };
}

/** The private key reaches the tools only as a 0600 file named by -i: no line of it in an environment or argv. */
function expectNoKeyIn(call: ChildCall): void {
  const seen = `${JSON.stringify(call.env)}\n${call.argv.join('\n')}`;
  for (const line of sshd.clientKey.privateKey.split('\n').filter((l) => l.length >= 12))
    expect({ tool: call.tool, leaked: seen.includes(line) }).toEqual({ tool: call.tool, leaked: false });
}

/** No ssh_config of the machine or the user (ProxyCommand, other identities, relaxed host key checks) is read: -F /dev/null. */
function expectNoSshConfig(call: ChildCall): void {
  const at = call.argv.indexOf('-F');
  expect({ tool: call.tool, config: at === -1 ? undefined : call.argv[at + 1] }).toEqual({ tool: call.tool, config: '/dev/null' });
}

test('scp: every ssh and scp runs with the allowlisted environment only, no key and nothing of the parent', async () => {
  const { ctx, calls } = await publish('4.2.0', 'scp');
  expect(new Set(calls.map((c) => c.tool))).toEqual(new Set(['ssh', 'scp']));
  for (const call of calls) {
    expectOnlyOwnEnv(call, {});
    expect(call.env.HOME).toBe(ctx.tmpDir);
    expectNoKeyIn(call);
    expect(call.argv).toContain('-i');
    expectNoSshConfig(call);
  }
});

test('rsync: rsync, and the ssh it starts itself, get nothing of the parent either', async () => {
  const { ctx, calls } = await publish('4.3.0', 'rsync');
  const rsync = calls.filter((c) => c.tool === 'rsync');
  expect(rsync.length).toBeGreaterThan(0);
  for (const call of rsync) {
    expectOnlyOwnEnv(call, {});
    expectNoKeyIn(call);
    expect(call.argv[call.argv.indexOf('-e') + 1]).toMatch(/^ssh -F \/dev\/null /);
  }
  // The ssh rsync starts inherits rsync's environment, the allowlisted one, plus the PWD rsync sets itself.
  const sshUnderRsync = calls.filter((c) => c.tool === 'ssh' && !c.argv.includes('-T'));
  expect(sshUnderRsync.length).toBeGreaterThan(0);
  for (const call of calls.filter((c) => c.tool === 'ssh')) {
    expectOnlyOwnEnv(call, sshUnderRsync.includes(call) ? { PWD: ctx.tmpDir } : {});
    expectNoKeyIn(call);
    expectNoSshConfig(call);
  }
});

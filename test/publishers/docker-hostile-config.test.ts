import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { ErrorCode } from '../../src/errors.js';
import { digestIfPresent, inspectDigest, writeAuthFile } from '../../src/staging/skopeo.js';
import { dockerPublisher } from '../../publishers/docker.js';
import { setParentEnv } from '../support/child-env.js';
import { pushTinyImage, type PushedImage } from '../support/oci-image.js';
import { publishContext } from '../support/publish-context.js';
import { startRegistry, type TestRegistry } from '../support/registry.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * Attack first: skopeo's configuration in the bot's inherited environment and HOME, as someone
 * who can write there would leave it (file names and lookup order from containers/image v5.22:
 * pkg/sysregistriesv2/system_registries_v2.go, signature/policy_config.go, pkg/docker/config/config.go,
 * and skopeo's REGISTRY_AUTH_FILE default in cmd/skopeo/utils.go). A registries.conf rewrites reads
 * of the staging and of the destination repository to an attacker's registry, a policy.json rejects
 * everything, auth files log in to the destination. Each is first shown to work on a skopeo started
 * the ordinary way; the bot must not notice any of it: it stages the real digest, publishes to the
 * configured registry, and sends its own credentials or none.
 */
const tmp = makeTmpDir('release-bot-docker-hostile-');
const USER = 'release-bot';
const PASSWORD = 'canary-hostile-dest-pw-8c1e5b3f9a';
const run = promisify(execFile);
let staging: TestRegistry;
let evil: TestRegistry;
let dest: TestRegistry;
let genuine: PushedImage;
let planted: PushedImage;
let hostile: Record<string, string>;
let home: string;
let n = 0;

const auth = (user: string, password: string, host: string) =>
  JSON.stringify({ auths: { [host]: { auth: Buffer.from(`${user}:${password}`).toString('base64') } } });

/** Every place containers/image or skopeo would find credentials, all holding the same login for the destination. */
function plantAuth(user: string, password: string): void {
  const json = auth(user, password, dest.host);
  for (const file of ['.config/containers/auth.json', '.docker/config.json', 'run/containers/auth.json', 'registry-auth.json'])
    writeFileSync(path.join(home, file), json);
}

beforeAll(async () => {
  requireBinary('skopeo', 'skopeo');
  requireBinary('umoci', 'umoci');
  [staging, evil, dest] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry({ auth: { username: USER, password: PASSWORD } }),
  ]);
  genuine = await pushTinyImage({ workDir: tmp.dir, host: staging.host, path: 'builds/app', tag: '1.0.0', content: 'the real build\n' });
  planted = await pushTinyImage({ workDir: tmp.dir, host: evil.host, path: 'builds/app', tag: '1.0.0', content: "the attacker's build\n" });
  // The real image, already "published" on the attacker's registry under the tags a release would create.
  for (const tag of ['1.0.0', '1.0.0-build.123'])
    await pushTinyImage({ workDir: tmp.dir, host: evil.host, path: 'org/app', tag, image: genuine.image });

  home = path.join(tmp.dir, 'hostile-home');
  for (const dir of ['.config/containers/registries.d', '.docker', 'run/containers']) mkdirSync(path.join(home, dir), { recursive: true });
  const registriesConf = [
    '[[registry]]',
    `prefix = "${staging.host}/builds"`,
    `location = "${evil.host}/builds"`,
    'insecure = true',
    '[[registry]]',
    `prefix = "${dest.host}/org"`,
    `location = "${evil.host}/org"`,
    'insecure = true',
    '',
  ].join('\n');
  writeFileSync(path.join(home, '.config/containers/registries.conf'), registriesConf);
  writeFileSync(path.join(home, 'registries.conf'), registriesConf);
  writeFileSync(path.join(home, '.config/containers/policy.json'), JSON.stringify({ default: [{ type: 'reject' }] }));
  plantAuth(USER, 'not-the-password');
  hostile = {
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    XDG_RUNTIME_DIR: path.join(home, 'run'),
    DOCKER_CONFIG: path.join(home, '.docker'),
    REGISTRY_AUTH_FILE: path.join(home, 'registry-auth.json'),
    CONTAINERS_REGISTRIES_CONF: path.join(home, 'registries.conf'),
    REGISTRIES_CONFIG_PATH: path.join(home, 'registries.conf'),
  };
});

afterAll(async () => {
  await Promise.all([staging?.stop(), evil?.stop(), dest?.stop()]);
  tmp.cleanup();
});

/** skopeo as anyone would start it, with the hostile environment: sha256 of the raw manifest it reads. */
async function naiveDigest(ref: string): Promise<string> {
  const { stdout } = await run('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`], {
    env: { PATH: process.env.PATH, ...hostile },
    encoding: 'buffer',
  });
  return `sha256:${createHash('sha256').update(stdout).digest('hex')}`;
}

/** The destination read with an auth file of our own, outside any hostile environment. */
async function destDigest(tag: string): Promise<string | undefined> {
  const authFile = path.join(tmp.dir, `check-auth-${(n += 1)}.json`);
  await writeAuthFile(authFile, dest.host, USER, PASSWORD);
  return digestIfPresent(`${dest.host}/org/app:${tag}`, { tlsVerify: false, authFile, redact: (t) => t });
}

async function publish(version: string, credentials: Record<string, string>) {
  const ctx = await publishContext(
    path.join(tmp.dir, `ctx-${(n += 1)}`),
    {},
    {
      project: 'app',
      version,
      artifact: { kind: 'docker', ref: genuine.repository, digest: genuine.digest, tlsVerify: false },
      credentials,
    },
  );
  return dockerPublisher.publish(ctx, dockerPublisher.options.parse({ repository: `${dest.host}/org/app`, tls_verify: false }));
}

test('the hostile configuration works on a skopeo started the ordinary way', async () => {
  // Reads of the staging tag and of the destination tags go to the attacker's registry.
  await expect(naiveDigest(genuine.ref)).resolves.toBe(planted.digest);
  await expect(naiveDigest(`${dest.host}/org/app:1.0.0`)).resolves.toBe(genuine.digest);
  // Its policy.json refuses every copy (from a repository it does not rewrite).
  const copy = run(
    'skopeo',
    [
      'copy',
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${evil.host}/org/app:1.0.0`,
      `docker://${dest.host}/org/app:naive`,
    ],
    { env: { PATH: process.env.PATH, ...hostile } },
  );
  await expect(copy).rejects.toThrow(/rejected by policy/i);
});

describe("with that configuration in the bot's own environment and HOME", () => {
  let restore: () => void;
  beforeEach(() => {
    restore = setParentEnv(hostile);
  });
  afterEach(() => restore());

  test("staging reads the staging registry: the real digest, not the attacker's", async () => {
    await expect(inspectDigest(genuine.ref, { tlsVerify: false, redact: (t) => t })).resolves.toBe(genuine.digest);
  });

  test("publishing goes to the configured registry with the bot's credentials, whatever the inherited logins say", async () => {
    // A naive pre-check would read the planted tags and find the image "already present".
    await expect(publish('1.0.0', { REGISTRY_USERNAME: USER, REGISTRY_PASSWORD: PASSWORD })).resolves.toMatchObject({
      status: 'published',
      readBackDigest: genuine.digest,
    });
    await expect(destDigest('1.0.0')).resolves.toBe(genuine.digest);
    await expect(destDigest('1.0.0-build.123')).resolves.toBe(genuine.digest);
  });

  test("no credential of the bot's for the destination: the inherited login (a valid one) is never used", async () => {
    plantAuth(USER, PASSWORD);
    // The planted login is valid: an ordinary skopeo push picks it up (its policy aside) and succeeds.
    const permissive = path.join(tmp.dir, 'permissive-policy.json');
    writeFileSync(permissive, JSON.stringify({ default: [{ type: 'insecureAcceptAnything' }] }));
    const naive = [
      'copy',
      '--policy',
      permissive,
      '--src-tls-verify=false',
      '--dest-tls-verify=false',
      `docker://${evil.host}/org/app:1.0.0`,
      `docker://${dest.host}/org/app:naive`,
    ];
    await run('skopeo', naive, { env: { PATH: process.env.PATH, ...hostile } });
    await expect(destDigest('naive')).resolves.toBe(genuine.digest);

    await expect(publish('2.0.0', {})).rejects.toMatchObject({
      code: ErrorCode.DestinationFailed,
      retryable: false,
      details: { reason: 'unauthorized' },
    });
    await expect(destDigest('2.0.0')).resolves.toBeUndefined();
  });
});

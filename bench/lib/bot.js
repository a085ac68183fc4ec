// A release-bot set up for benchmarks: a loopback Conjur stand-in, a projects file, staging and
// destination directories in a temp dir, and the environment the bot reads. Uses the built code.
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { devDist } from './util.js';

export const ACCOUNT = 'bench';
export const BOT_LOGIN = 'host/release-bot';
export const MEMBER = 'alice';
export const GROUP = 'release/bench';
export const CREDENTIALS = { TOKEN_A: 'release/bench/token-a', TOKEN_B: 'release/bench/token-b' };

/**
 * A Conjur stand-in where alice is in release/bench through a nested group and the bot may read two
 * variables, plus `extra` ({ id: value }).
 */
export async function startConjur(extra = {}) {
  const { membershipSentinels, startConjurStandIn } = await import(devDist('conjur-stand-in.js'));
  const apiKey = randomBytes(28).toString('hex').slice(0, 55);
  const conjur = await startConjurStandIn({
    account: ACCOUNT,
    apiKeys: { [BOT_LOGIN]: apiKey },
    groups: { [GROUP]: ['group:release/bench-team'], 'release/bench-team': [`user:${MEMBER}`] },
    // The group's membership sentinel (deploy/conjur/policy.yml): one request per membership check.
    webservices: membershipSentinels([GROUP]),
    variables: Object.fromEntries(
      [...Object.values(CREDENTIALS).map((id) => [id, `value-of-${id}-${randomBytes(8).toString('hex')}`]), ...Object.entries(extra)].map(
        ([id, value]) => [id, { value, readers: [`host:${BOT_LOGIN.slice(5)}`] }],
      ),
    ),
  });
  return { conjur, apiKey };
}

/**
 * Writes releases.yml under `root` with the given projects (YAML lines under `projects:`) and
 * returns the bot's environment. `staging` is <root>/staging.
 */
export function botEnv(root, conjur, apiKey, projectsYaml, extra = {}) {
  const staging = path.join(root, 'staging');
  mkdirSync(staging, { recursive: true });
  const config = path.join(root, 'releases.yml');
  writeFileSync(
    config,
    [
      `channel: C0BENCH`,
      `staging_dir: ${staging}`,
      `identity: { strategy: map, map: { U0ALICE: ${MEMBER} } }`,
      'projects:',
      projectsYaml,
      '',
    ].join('\n'),
  );
  return {
    PATH: process.env.PATH,
    CONJUR_APPLIANCE_URL: conjur.url,
    CONJUR_ACCOUNT: ACCOUNT,
    CONJUR_AUTHN_LOGIN: BOT_LOGIN,
    CONJUR_AUTHN_API_KEY: apiKey,
    RELEASE_BOT_CONFIG: config,
    RELEASE_BOT_DATA_DIR: path.join(root, 'data'),
    LOG_LEVEL: 'warn',
    HOST: '127.0.0.1',
    ...extra,
  };
}

/** A files project with `destinations` directory destinations under <root>/out-<n>, each with one credential. */
export function filesProjectYaml(root, name = 'bench-files', destinations = 2) {
  const ids = Object.entries(CREDENTIALS);
  const lines = [`  ${name}:`, `    authorized_group: ${GROUP}`, `    jenkins_job: ${name}`, '    artifact: files', '    destinations:'];
  for (let i = 0; i < destinations; i++) {
    const [env, id] = ids[i % ids.length];
    lines.push(
      `      - name: mirror-${i + 1}`,
      '        type: directory',
      `        path: ${path.join(root, `out-${i + 1}`)}/{project}/{version}`,
      `        credentials: { ${env}: ${id} }`,
    );
  }
  return lines.join('\n');
}

/** Puts a small artifact (and a checksum file) into <staging>/<project>/<version>/. */
export function writeStagedFiles(root, project, version, bytes = 4096) {
  const dir = path.join(root, 'staging', project, version);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, `${project}-${version}.tar.gz`), randomBytes(bytes));
  writeFileSync(path.join(dir, 'NOTES.txt'), `${project} ${version}\n`);
  return dir;
}

export const stageReport = (project, version, n) => ({
  project,
  version,
  build: { number: n, url: `https://jenkins.example/job/${project}/${n}/`, commit: randomBytes(20).toString('hex') },
  reportedBy: 'bench',
  actor: { via: 'bench' },
});

export const requester = (login = MEMBER) => ({ login, via: 'cli' });

/** Sorts requests recorded by the Conjur stand-in by what they are for. */
export function classifyConjurRequests(requests) {
  const count = { authn: 0, membership: 0, secrets: 0, other: 0 };
  for (const r of requests) {
    if (r.method === 'POST' && r.path.startsWith('/authn/')) count.authn++;
    else if (r.method === 'GET' && (r.path.startsWith('/roles/') || r.query.startsWith('permitted_roles='))) count.membership++;
    else if (r.method === 'GET' && r.path === '/secrets') count.secrets++;
    else count.other++;
  }
  return count;
}

import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { membershipSentinels, startConjurStandIn, type ConjurStandIn } from '../../dev/conjur-stand-in.js';
import { runCli, repoRoot } from '../support/cli.js';
import { project, writeProjectsFile } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

// Canaries: if any of these shows up in output, logs, the audit or the database, a secret leaked.
const API_KEY = `apikey-canary-${'k'.repeat(40)}`; // 55 characters, as Conjur's are
const DOWNLOADS_TOKEN = 'dl-token-canary-3f9a7c1e5b';

describe('release-bot stage + publish as processes against a Conjur-compatible server', () => {
  const tmp = makeTmpDir();
  const staging = path.join(tmp.dir, 'staging');
  const out = path.join(tmp.dir, 'downloads');
  const copies = path.join(tmp.dir, 'copies');
  const dataDir = path.join(tmp.dir, 'data');
  let conjur: ConjurStandIn;
  let env: NodeJS.ProcessEnv;

  const stageFiles = (version: string, files: Record<string, string>) => {
    const dir = path.join(staging, 'conjur-cli', version);
    mkdirSync(dir, { recursive: true });
    for (const [name, content] of Object.entries(files)) writeFileSync(path.join(dir, name), content);
    return dir;
  };
  /** The bot's quarantined copy of a staged file (`<data>/quarantine/trees/<digest>/<file>`). */
  const quarantined = (file: string): string => {
    const trees = path.join(dataDir, 'quarantine', 'trees');
    const found = readdirSync(trees)
      .map((t) => path.join(trees, t, file))
      .filter((p) => existsSync(p));
    expect(found).toHaveLength(1);
    return found[0] as string;
  };
  const allOutput: string[] = [];
  const cli = async (...args: string[]) => {
    const result = await runCli(args, env);
    allOutput.push(result.stdout, result.stderr);
    return result;
  };

  // Every access token the stand-in issues passes through this recorder, so the canary scan can look for it.
  const issuedTokens: string[] = [];
  let recorder: http.Server;

  beforeAll(async () => {
    conjur = await startConjurStandIn({
      account: 'acme',
      apiKeys: { 'host/release-bot': API_KEY },
      groups: {
        'release/conjur-cli': ['group:release/core-team'],
        'release/core-team': ['user:alice'],
      },
      webservices: membershipSentinels(['release/conjur-cli', 'release/core-team']),
      variables: { 'release/downloads/token': { value: DOWNLOADS_TOKEN, readers: ['host:release-bot'] } },
    });
    writeProjectsFile(path.join(tmp.dir, 'releases.yml'), {
      staging_dir: staging,
      identity: { strategy: 'map', map: { U024BE7LH: 'alice' } },
      projects: {
        'conjur-cli': project('conjur-cli', [
          {
            name: 'downloads',
            type: 'exec',
            command: [path.join(repoRoot, 'test/fixtures/cli/publish.sh'), '{project}', '{version}', '{dir}'],
            env: { OUT_DIR: out },
            credentials: { DOWNLOADS_TOKEN: 'release/downloads/token' },
          },
          { name: 'mirror', type: 'directory', path: `${copies}/{project}/{version}` },
        ]),
      },
    });
    recorder = http.createServer((req, res) => {
      const upstream = http.request(new URL(req.url ?? '/', conjur.url), { method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const body = Buffer.concat(chunks);
          if (req.url?.includes('/authenticate') && answer.statusCode === 200) issuedTokens.push(body.toString('utf8'));
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          res.end(body);
        });
      });
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => recorder.listen(0, '127.0.0.1', () => resolve()));
    env = {
      CONJUR_APPLIANCE_URL: `http://127.0.0.1:${(recorder.address() as AddressInfo).port}`,
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: API_KEY,
      RELEASE_BOT_CONFIG: path.join(tmp.dir, 'releases.yml'),
      RELEASE_BOT_DATA_DIR: dataDir,
      LOG_LEVEL: 'debug',
    };
  });

  afterAll(async () => {
    recorder.closeAllConnections();
    await new Promise((resolve) => recorder.close(resolve));
    await conjur.close();
    tmp.cleanup();
  });

  it('stages the files in the staging directory with their digests', async () => {
    stageFiles('4.2.0', { 'conjur-cli-4.2.0.gem': 'gem bytes 4.2.0' });
    const r = await cli(
      'stage',
      'conjur-cli',
      '4.2.0',
      '--build-number',
      '123',
      '--build-url',
      'https://jenkins.example/job/conjur-cli/123/',
      '--commit',
      '9fceb02',
    );
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^staged: conjur-cli 4\.2\.0/);
    expect(r.stdout).toContain('conjur-cli-4.2.0.gem');
  });

  it('denies a user outside the group, audits it, and publishes nothing', async () => {
    const r = await cli('publish', 'conjur-cli', '4.2.0', '--as', 'bob');
    expect(r.code).toBe(77);
    expect(r.stderr).toContain('bob is not a member of the Conjur group release/conjur-cli');
    expect(existsSync(out)).toBe(false);
    expect(existsSync(copies)).toBe(false);
    const audit = await cli('audit', 'list', '--json');
    const latest = JSON.parse(audit.stdout.split('\n')[0] as string);
    expect(latest).toMatchObject({
      type: 'denied',
      project: 'conjur-cli',
      version: '4.2.0',
      actor: { conjurLogin: 'bob', via: 'cli' },
      data: { code: 'NOT_AUTHORIZED' },
    });
  });

  it('publishes for a member of a nested group: destinations run, label written, audit entry made', async () => {
    const r = await cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice');
    expect(r.stderr).not.toMatch(/"level":(50|60)|^release-bot: (error|fatal):/m);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Released conjur-cli 4\.2\.0 \(published\)/);
    expect(r.stdout).toContain('downloads [exec]: published');
    expect(r.stdout).toContain('mirror [directory]: published');
    expect(readFileSync(path.join(out, 'conjur-cli/4.2.0/conjur-cli-4.2.0.gem'), 'utf8')).toBe('gem bytes 4.2.0');
    expect(readFileSync(path.join(copies, 'conjur-cli/4.2.0/conjur-cli-4.2.0.gem'), 'utf8')).toBe('gem bytes 4.2.0');
    const label = JSON.parse(readFileSync(path.join(staging, 'conjur-cli/4.2.0/conjur-cli-4.2.0.release.json'), 'utf8'));
    expect(label).toMatchObject({
      project: 'conjur-cli',
      version: '4.2.0',
      requester: 'alice',
      build: { number: 123, commit: '9fceb02', url: 'https://jenkins.example/job/conjur-cli/123/' },
    });
    expect(label.artifact.files[0]).toMatchObject({ path: 'conjur-cli-4.2.0.gem', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(existsSync(path.join(copies, 'conjur-cli/4.2.0/conjur-cli-4.2.0.release.json'))).toBe(true);

    const audit = await cli('audit', 'list', '--json', '--project', 'conjur-cli');
    const published = JSON.parse(audit.stdout.split('\n')[0] as string);
    expect(published).toMatchObject({
      type: 'published',
      actor: { conjurLogin: 'alice' },
      data: { credentialIds: ['release/downloads/token'], conjurIdentity: 'host/release-bot' },
    });
    expect(published.data.destinations.map((d: { status: string }) => d.status)).toEqual(['published', 'published']);
    // The script printed its token; the bot redacted it before it reached the log.
    expect(r.stderr).toContain('[REDACTED]');
  });

  it('refuses to publish a released version again, in a dry run too', async () => {
    const r = await cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice');
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/already released on .* by alice/);
    const dry = await cli('publish', 'conjur-cli', '4.2.0', '--as', 'alice', '--dry-run');
    expect(dry.code).toBe(73);
    expect(dry.stderr).toMatch(/already released on .* by alice.*\[ALREADY_RELEASED\]/);
    const audit = JSON.parse((await cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit).toMatchObject({ type: 'denied', version: '4.2.0', data: { code: 'ALREADY_RELEASED', dryRun: true } });
  });

  it('a dry run of a fresh version: exit 0, the plan printed, nothing pushed, nothing left in the staging directory', async () => {
    const dir = stageFiles('4.6.0', { 'conjur-cli-4.6.0.gem': 'gem bytes 4.6.0' });
    expect((await cli('stage', 'conjur-cli', '4.6.0')).code).toBe(0);
    const r = await cli('publish', 'conjur-cli', '4.6.0', '--as', 'alice', '--dry-run');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^Dry run of conjur-cli 4\.6\.0 \(dry-run\)/);
    expect(r.stdout).toMatch(/- downloads \[exec\]: would run \S+publish\.sh conjur-cli 4\.6\.0 /);
    expect(r.stdout).toMatch(/- mirror \[directory\]: would copy 1 file\(s\) and the release label to \S+copies\/conjur-cli\/4\.6\.0/);
    expect(existsSync(path.join(out, 'conjur-cli/4.6.0'))).toBe(false);
    expect(existsSync(path.join(copies, 'conjur-cli/4.6.0'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['conjur-cli-4.6.0.gem']);
  });

  it('publishes the bytes quarantined at staging even when the staging directory is changed afterwards', async () => {
    const dir = stageFiles('4.3.0', { 'conjur-cli-4.3.0.gem': 'gem bytes 4.3.0' });
    expect((await cli('stage', 'conjur-cli', '4.3.0')).code).toBe(0);
    chmodSync(path.join(dir, 'conjur-cli-4.3.0.gem'), 0o644);
    writeFileSync(path.join(dir, 'conjur-cli-4.3.0.gem'), 'tampered bytes');
    const r = await cli('publish', 'conjur-cli', '4.3.0', '--as', 'alice');
    expect(r.code).toBe(0);
    expect(readFileSync(path.join(copies, 'conjur-cli/4.3.0/conjur-cli-4.3.0.gem'), 'utf8')).toBe('gem bytes 4.3.0');
    const audit = JSON.parse((await cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit.data.publishedArtifact.files[0]).toMatchObject({
      path: 'conjur-cli-4.3.0.gem',
      sha256: createHash('sha256').update('gem bytes 4.3.0').digest('hex'),
    });
  });

  it("refuses a file changed in the bot's own quarantine after staging, and publishes nothing", async () => {
    stageFiles('4.3.3', { 'conjur-cli-4.3.3.gem': 'gem bytes 4.3.3' });
    expect((await cli('stage', 'conjur-cli', '4.3.3')).code).toBe(0);
    const copy = quarantined('conjur-cli-4.3.3.gem');
    chmodSync(path.dirname(copy), 0o755);
    chmodSync(copy, 0o644);
    writeFileSync(copy, 'tampered bytes');
    const r = await cli('publish', 'conjur-cli', '4.3.3', '--as', 'alice');
    expect(r.code).toBe(65);
    expect(r.stdout).toContain('conjur-cli-4.3.3.gem changed in the quarantine since staging');
    expect(existsSync(path.join(out, 'conjur-cli/4.3.3'))).toBe(false);
    expect(existsSync(path.join(copies, 'conjur-cli/4.3.3'))).toBe(false);
    const audit = JSON.parse((await cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit).toMatchObject({
      type: 'failed',
      version: '4.3.3',
      actor: { conjurLogin: 'alice', via: 'cli' },
      data: {
        error: { code: 'ARTIFACT_MISMATCH', message: expect.stringContaining('conjur-cli-4.3.3.gem changed in the quarantine') },
        destinations: [],
      },
    });
    // What was measured is recorded beside what was staged: the tampered bytes.
    expect(audit.data.publishedArtifact.files[0]).toMatchObject({
      path: 'conjur-cli-4.3.3.gem',
      sha256: createHash('sha256').update('tampered bytes').digest('hex'),
    });
    expect(audit.data.publishedArtifact.files[0].sha256).not.toBe(audit.data.artifact.files[0].sha256);
  });

  it('refuses a file deleted from the quarantine ("missing"), audits it, and publishes nothing; one deleted from staging does not matter', async () => {
    const dir = stageFiles('4.3.2', { 'conjur-cli-4.3.2.gem': 'gem bytes 4.3.2', 'conjur-cli-4.3.2.gem.sig': 'signature' });
    expect((await cli('stage', 'conjur-cli', '4.3.2')).code).toBe(0);
    rmSync(path.join(dir, 'conjur-cli-4.3.2.gem'));
    const copy = quarantined('conjur-cli-4.3.2.gem.sig');
    chmodSync(path.dirname(copy), 0o755);
    rmSync(copy);
    const r = await cli('publish', 'conjur-cli', '4.3.2', '--as', 'alice');
    expect(r.code).toBe(65);
    expect(r.stdout).toContain('conjur-cli-4.3.2.gem.sig is missing from the quarantine');
    expect(r.stdout).not.toContain('conjur-cli-4.3.2.gem is missing');
    expect(existsSync(path.join(out, 'conjur-cli/4.3.2'))).toBe(false);
    expect(existsSync(path.join(copies, 'conjur-cli/4.3.2'))).toBe(false);
    const audit = JSON.parse((await cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit).toMatchObject({
      type: 'failed',
      version: '4.3.2',
      data: { error: { code: 'ARTIFACT_MISMATCH', message: expect.stringContaining('is missing') } },
    });
  });

  it('refuses a version that is not staged: exit 66, audited, nothing published', async () => {
    const r = await cli('publish', 'conjur-cli', '9.9.9', '--as', 'alice');
    expect(r.code).toBe(66);
    expect(r.stderr).toContain('conjur-cli 9.9.9 is not staged');
    expect(r.stderr).toContain('[NOT_STAGED]');
    expect(existsSync(path.join(out, 'conjur-cli/9.9.9'))).toBe(false);
    const audit = JSON.parse((await cli('audit', 'list', '--json', '--limit', '1')).stdout);
    expect(audit).toMatchObject({
      type: 'denied',
      project: 'conjur-cli',
      version: '9.9.9',
      actor: { conjurLogin: 'alice', via: 'cli' },
      data: { code: 'NOT_STAGED' },
    });
  });

  it('publishes only the files staged: one added to the staging directory afterwards goes nowhere', async () => {
    const dir = stageFiles('4.3.1', { 'conjur-cli-4.3.1.gem': 'gem bytes 4.3.1' });
    expect((await cli('stage', 'conjur-cli', '4.3.1')).code).toBe(0);
    writeFileSync(path.join(dir, 'extra.sh'), 'echo sneaky');
    const r = await cli('publish', 'conjur-cli', '4.3.1', '--as', 'alice');
    expect(r.code).toBe(0);
    expect(readdirSync(path.join(copies, 'conjur-cli/4.3.1')).sort()).toEqual(['conjur-cli-4.3.1.gem', 'conjur-cli-4.3.1.release.json']);
  });

  it('refuses when Conjur is down (fail closed) and publishes nothing', async () => {
    stageFiles('4.4.0', { 'conjur-cli-4.4.0.gem': 'gem bytes 4.4.0' });
    expect((await cli('stage', 'conjur-cli', '4.4.0')).code).toBe(0);
    conjur.setDown(true);
    try {
      const r = await cli('publish', 'conjur-cli', '4.4.0', '--as', 'alice');
      expect(r.code).toBe(69);
      expect(r.stderr).toContain('cannot check authorization in Conjur');
    } finally {
      conjur.setDown(false);
    }
    expect(existsSync(path.join(out, 'conjur-cli/4.4.0'))).toBe(false);
    const audit = await cli('audit', 'list', '--json', '--limit', '1');
    expect(JSON.parse(audit.stdout)).toMatchObject({ type: 'denied', version: '4.4.0', data: { code: 'CONJUR_UNAVAILABLE' } });
  });

  it('rejects hostile project names and versions with a clear error, changing nothing', async () => {
    for (const [project, version] of [
      ['conjur-cli', '4.2.0;rm -rf /'],
      ['../etc', '1.0.0'],
      ['conjur-cli', '../../4.2.0'],
      ['conjur-cli', '$(id)'],
    ] as const) {
      const r = await cli('publish', project, version, '--as', 'alice');
      expect(r.code).toBe(64);
      expect(r.stderr).toMatch(/invalid (project name|version)/);
    }
    const unknown = await cli('publish', 'nope', '1.0.0', '--as', 'alice');
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown project "nope"');
  });

  it('never lets a secret value reach output, logs, the audit log or the database', async () => {
    const audit = await cli('audit', 'list', '--json', '--limit', '1000');
    const db = readdirSync(dataDir, { withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => readFileSync(path.join(dataDir, e.name)).toString('latin1'))
      .join('\n');
    // The access tokens the stand-in issued (one per CLI process that asked Conjur), in every form the
    // client handles: as sent (base64), decoded, and the signature that makes a token a token.
    expect(issuedTokens.length).toBeGreaterThanOrEqual(3);
    const tokenForms = issuedTokens.flatMap((sent) => {
      const json = /^\s*\{/.test(sent) ? sent : Buffer.from(sent, 'base64').toString('utf8');
      const { signature } = JSON.parse(json) as { signature: string };
      expect(signature.length).toBeGreaterThan(20);
      return [sent.trim(), Buffer.from(json).toString('base64'), json, signature];
    });
    const canaries = [
      ...[DOWNLOADS_TOKEN, API_KEY].flatMap((v) => [
        v,
        Buffer.from(v).toString('base64'),
        Buffer.from(v).toString('base64').replace(/=+$/, ''),
        encodeURIComponent(v),
      ]),
      ...tokenForms,
    ];
    for (const text of [...allOutput, audit.stdout, db]) {
      for (const canary of canaries) expect(text).not.toContain(canary);
    }
    expect(allOutput.join('')).toContain('conjur-cli'); // the scan read real output
  });
});

import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import { destinationTypes } from '../../publishers/registry.js';
import { loadConfig, type DestinationTypeSpec } from '../../src/config/load.js';
import { PolicyReloader } from '../../src/config/reload.js';
import { policyHolder } from '../../src/release/policy-holder.js';
import type { PublisherDefinition } from '../../src/publishing/types.js';
import { appProject, makeCore, memoryConjur, type CoreFixture } from '../support/core-fixture.js';
import { projectsYaml, testDestination, type ProjectSpec } from '../support/projects-file.js';
import { makeTmpDir } from '../support/tmp.js';

const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/**
 * The reloader in process, without its watch and poll (start() is not called): every reload here
 * is an explicit `reload('SIGHUP')`, so each step is deterministic.
 */
describe('PolicyReloader', () => {
  const tmp = makeTmpDir();
  afterAll(() => tmp.cleanup());
  let gates: (() => void)[];
  let f: CoreFixture;
  let reloader: PolicyReloader;
  let file: string;
  const rejections: unknown[] = [];

  const gated: PublisherDefinition = {
    type: 'gated',
    description: 'waits until the test lets it finish',
    artifacts: ['files'],
    options: z.object({}).strict() as unknown as PublisherDefinition['options'],
    tools: [],
    async publish() {
      await new Promise<void>((r) => gates.push(r));
      return { status: 'published' };
    },
  };

  const out = (name = 'out') => testDestination(gated, name);

  beforeAll(() => {
    gates = [];
    f = makeCore(tmp.dir, appProject([out()]), memoryConjur({ 'release/app': ['alice'] }), [gated]);
    file = path.join(tmp.dir, 'releases.yml');
    const types = new Map<string, DestinationTypeSpec>([
      ...destinationTypes,
      ['gated', { options: gated.options, artifacts: gated.artifacts }],
    ]);
    const env = {
      CONJUR_APPLIANCE_URL: 'http://127.0.0.1:1',
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: 'x'.repeat(55),
      RELEASE_BOT_CONFIG: file,
      RELEASE_BOT_DATA_DIR: path.join(tmp.dir, 'data'),
    };
    reloader = new PolicyReloader({
      holder: policyHolder(f.core, f.audit),
      load: (bytes) => loadConfig(env, { destinationTypes: types, projectsFile: bytes }),
      log: pino({ level: 'silent' }),
    });
    f.core.events.on('policy-rejected', (e) => rejections.push(e));
  });
  afterAll(() => f.close());

  /** The projects file makeCore wrote, with these projects (and another staging_dir); `edit` changes its text. */
  const write = (projects: Record<string, ProjectSpec>, stagingDir = path.join(tmp.dir, 'staging'), edit = (y: string) => y) => {
    writeFileSync(file, edit(projectsYaml({ staging_dir: stagingDir, projects })));
    return sha256(readFileSync(file));
  };

  it('lets a release in flight finish under the policy it started with; the next one runs under the new one', async () => {
    const started = f.core.config.policySha256;
    expect(started).toBe(sha256(readFileSync(file)));
    f.stageFiles('app', '1.0.0', { 'app-1.0.0.tgz': 'one' });
    await f.core.stage({ project: 'app', version: '1.0.0', build: { number: 1 }, reportedBy: 'test', actor: { via: 'test' } });
    const running = f.core.release('app', '1.0.0', { login: 'alice', via: 'cli' });
    while (gates.length === 0) await new Promise((r) => setTimeout(r, 10));

    const next = write(appProject([out(), out('second')], { approvals: 1 }));
    expect(reloader.reload('SIGHUP')).toEqual({
      outcome: 'changed',
      sha256: next,
      previousSha256: started,
      changes: ['app: approvals 0 → 1', 'app: destinations added: second'],
    });
    expect(f.core.config.policySha256).toBe(next);
    gates.shift()?.();
    const summary = await running;
    // Started without approvals and with one destination: it finishes so.
    expect(summary.state).toBe('published');
    expect(summary.destinations.map((d) => d.name)).toEqual(['out']);
    expect(f.releases.get(summary.releaseId)?.policySha256).toBe(started);
    expect(f.audit.get(summary.auditId)?.data).toMatchObject({ policySha256: started });
    const changed = f.audit.list({ limit: 10 }).find((e) => e.type === 'config-changed');
    expect(changed?.data).toMatchObject({ sha256: next, previousSha256: started, trigger: 'SIGHUP' });

    f.stageFiles('app', '1.1.0', { 'app-1.1.0.tgz': 'two' });
    await f.core.stage({ project: 'app', version: '1.1.0', build: { number: 2 }, reportedBy: 'test', actor: { via: 'test' } });
    await expect(f.core.release('app', '1.1.0', { login: 'alice', via: 'cli' })).rejects.toThrow('needs 1 approval(s)');
    expect(f.audit.list({ limit: 1 })[0]).toMatchObject({ type: 'denied', data: { code: 'APPROVAL_PENDING', policySha256: next } });
  });

  it('refuses an invalid file and a changed staging_dir, keeping the policy in force; reports each content once', () => {
    const inForce = f.core.config.policySha256;
    // Invalid on purpose: a type the builder refuses, so its value is put in as text.
    const broken = write(appProject([out()], { approvals: 1 }), undefined, (y) => y.replace('approvals: 1', 'approvals: lots'));
    const r = reloader.reload('SIGHUP');
    expect(r).toMatchObject({ outcome: 'rejected', sha256: broken, repeated: false });
    expect(f.core.config.policySha256).toBe(inForce);
    expect(reloader.status.rejected).toMatchObject({ sha256: broken, trigger: 'SIGHUP' });
    expect(reloader.reload('SIGHUP')).toMatchObject({ outcome: 'rejected', repeated: true });
    expect(f.audit.list({ limit: 10 }).filter((e) => e.type === 'config-rejected')).toHaveLength(1);
    expect(rejections).toHaveLength(1);

    const moved = write(appProject([out()]), path.join(tmp.dir, 'elsewhere'));
    const m = reloader.reload('SIGHUP');
    expect(m).toMatchObject({ outcome: 'rejected', sha256: moved });
    expect(m.outcome === 'rejected' && m.problems[0]).toMatch(/^staging_dir: changed from .* which takes a restart/);
    expect(f.core.config.policySha256).toBe(inForce);
    expect(rejections).toHaveLength(2);

    writeFileSync(file, '');
    const gone = reloader.reload('SIGHUP');
    expect(gone.outcome).toBe('rejected');
  });

  it('clears the refusal when the file is back to the policy in force', () => {
    const inForce = f.core.config.policySha256;
    write(appProject([out(), out('second')], { approvals: 1 }));
    expect(reloader.reload('SIGHUP')).toEqual({ outcome: 'unchanged', sha256: inForce });
    expect(reloader.status.rejected).toBeUndefined();
  });
});

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import pino from 'pino';
import { z } from 'zod';
import type { DestinationConfig } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { definePublisher } from '../../src/publishing/define-publisher.js';
import type { PublisherDefinition, PublishResult, ReadBackAnswer } from '../../src/publishing/types.js';
import { CoreEvents } from '../../src/release/events.js';
import { runDestinations, type DestinationJob, type RunDestinationsOptions } from '../../src/release/run-destinations.js';
import type { Releases } from '../../src/store/releases.js';
import { publishers } from '../../publishers/registry.js';
import { makeTmpDir } from '../support/tmp.js';

/**
 * A destination whose answers each test scripts: what `existing` finds on each call, what the push
 * does, what each read-back sees. Every call goes to `calls`.
 */
function scripted(script: {
  existing?: Array<'absent' | 'same' | 'conflict'>;
  push?: 'ok' | 'conflict';
  readBacks?: ReadBackAnswer[];
  readBackAttempts?: number;
}) {
  const calls: string[] = [];
  const existing = [...(script.existing ?? [])];
  const readBacks = [...(script.readBacks ?? [])];
  const publisher = definePublisher({
    type: 'scripted',
    description: 'test double',
    artifacts: ['files'],
    options: z.object({ interval_ms: z.number().default(250) }).strict(),
    tools: [],
    ...(script.existing
      ? {
          async existing() {
            const found = existing.shift() ?? 'absent';
            calls.push(`existing ${found}`);
            if (found === 'conflict') throw new ReleaseBotError(ErrorCode.DestinationConflict, 'another digest is there');
            return found === 'same'
              ? { readBackDigest: 'sha256:same', location: 'there', detail: 'app 1.0.0 is already there' }
              : undefined;
          },
        }
      : {}),
    async publish(): Promise<PublishResult> {
      calls.push('publish');
      if (script.push === 'conflict') throw new ReleaseBotError(ErrorCode.DestinationConflict, 'the registry refuses to replace it');
      return { status: 'published', location: 'there', detail: 'pushed' };
    },
    ...(script.readBacks
      ? {
          readBack: {
            attempts: script.readBackAttempts ?? 5,
            intervalMs: (o: { interval_ms: number }) => o.interval_ms,
            async read(): Promise<ReadBackAnswer> {
              const seen = readBacks.shift() ?? { visible: false, detail: 'app 1.0.0 was pushed but is not listed yet' };
              calls.push(`read-back ${seen.visible ? 'visible' : 'not yet'}`);
              return seen;
            },
          },
        }
      : {}),
  });
  return { publisher, calls };
}

const NOT_YET: ReadBackAnswer = { visible: false, detail: 'app 1.0.0 was pushed but is not listed yet' };
const SEEN: ReadBackAnswer = { visible: true, readBackDigest: 'sha256:pushed' };

describe('the destination lifecycle, run by runDestinations', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let waits: number[];
  beforeEach(() => {
    tmp = makeTmpDir('release-bot-lifecycle-');
    mkdirSync(path.join(tmp.dir, 'tmp'));
    waits = [];
  });
  afterEach(() => tmp.cleanup());

  const options = (extra: Partial<RunDestinationsOptions> = {}): RunDestinationsOptions => ({
    releaseId: 'rel_1',
    context: {
      project: 'app',
      version: '1.0.0',
      releaseId: 'rel_1',
      build: {},
      artifact: { kind: 'files', files: [] },
      dir: tmp.dir,
      labelFile: path.join(tmp.dir, 'label.json'),
      redact: (t) => t,
    },
    tmpRoot: path.join(tmp.dir, 'tmp'),
    concurrency: 4,
    dryRun: false,
    log: pino({ level: 'silent' }),
    releases: { upsertDestination: () => undefined } as unknown as Releases,
    events: new CoreEvents(),
    shutdown: new AbortController().signal,
    retryBaseMs: 5,
    now: () => Date.now(),
    // Virtual time: every wait is recorded and returns at once.
    sleep: async (ms) => void waits.push(ms),
    ...extra,
  });
  const destination = (extra: Partial<DestinationConfig> = {}): DestinationConfig => ({
    name: 'registry',
    type: 'scripted',
    credentials: {},
    timeout_seconds: 60,
    retries: 0,
    after: [],
    options: { interval_ms: 250 },
    ...extra,
  });
  const run = (publisher: PublisherDefinition, extra: Partial<DestinationJob> = {}, o: Partial<RunDestinationsOptions> = {}) =>
    runDestinations(
      [{ destination: destination(extra.destination ? extra.destination : {}), publisher, credentials: {}, ...extra }],
      options(o),
    );

  test('a read-back that does not see the push twice is asked again by the runner, interval_ms apart, and the third answer counts', async () => {
    const s = scripted({ existing: ['absent'], readBacks: [NOT_YET, NOT_YET, SEEN] });
    const [outcome] = await run(s.publisher);
    expect(outcome).toMatchObject({
      status: 'published',
      attempts: 1,
      readBackDigest: 'sha256:pushed',
      location: 'there',
      detail: 'pushed',
    });
    expect(s.calls).toEqual(['existing absent', 'publish', 'read-back not yet', 'read-back not yet', 'read-back visible']);
    expect(waits).toEqual([250, 250]);
  });

  test('a push never seen is a retryable failure, and the next attempt finds it already there instead of pushing again', async () => {
    const s = scripted({ existing: ['absent', 'same'], readBacks: [NOT_YET, NOT_YET], readBackAttempts: 2 });
    const [outcome] = await run(s.publisher, { destination: destination({ retries: 1 }) });
    expect(s.calls).toEqual(['existing absent', 'publish', 'read-back not yet', 'read-back not yet', 'existing same']);
    expect(outcome).toMatchObject({ status: 'already-present', attempts: 2, readBackDigest: 'sha256:same' });

    const never = scripted({ existing: ['absent'], readBacks: [], readBackAttempts: 3 });
    const [failed] = await run(never.publisher);
    expect(never.calls.filter((c) => c === 'publish')).toHaveLength(1);
    expect(failed).toMatchObject({
      status: 'failed',
      error: {
        code: ErrorCode.DestinationFailed,
        retryable: true,
        message: expect.stringMatching(/not listed yet; the retry will find it/),
      },
    });
  });

  test('the already-present check runs before the push: a destination holding the release is never pushed to, in a run or a dry run', async () => {
    const s = scripted({ existing: ['same', 'same'], readBacks: [] });
    const [outcome] = await run(s.publisher);
    expect(outcome).toMatchObject({ status: 'already-present', readBackDigest: 'sha256:same', detail: 'app 1.0.0 is already there' });
    const [planned] = await run(s.publisher, {}, { dryRun: true });
    expect(planned).toMatchObject({ status: 'planned', plan: ['nothing: app 1.0.0 is already there'] });
    expect(s.calls).toEqual(['existing same', 'existing same']);
  });

  test('other bytes under the version are a final conflict, and nothing is pushed', async () => {
    const s = scripted({ existing: ['conflict'], readBacks: [] });
    const [outcome] = await run(s.publisher, { destination: destination({ retries: 3 }) });
    expect(outcome).toMatchObject({ status: 'failed', attempts: 1, error: { code: ErrorCode.DestinationConflict, retryable: false } });
    expect(s.calls).toEqual(['existing conflict']);
  });

  test('a push refused as a conflict is judged by asking again: the same bytes pushed meanwhile are already-present, anything else stays a conflict', async () => {
    const raced = scripted({ existing: ['absent', 'same'], push: 'conflict', readBacks: [] });
    await expect(run(raced.publisher)).resolves.toMatchObject([{ status: 'already-present', readBackDigest: 'sha256:same' }]);
    expect(raced.calls).toEqual(['existing absent', 'publish', 'existing same']);

    const refused = scripted({ existing: ['absent', 'absent'], push: 'conflict', readBacks: [] });
    await expect(run(refused.publisher)).resolves.toMatchObject([
      { status: 'failed', error: { code: ErrorCode.DestinationConflict, message: 'the registry refuses to replace it' } },
    ]);
    expect(refused.calls).toEqual(['existing absent', 'publish', 'existing absent']);
  });

  test('the attestation step runs after the read-back, and also when the release was already there', async () => {
    const seen: Array<{ status: string; readBackDigest: string | undefined }> = [];
    const attest = async (_ctx: unknown, result: PublishResult) => {
      seen.push({ status: result.status, readBackDigest: result.readBackDigest });
      return [{ subject: 'app', digest: 'd'.repeat(64), keyId: 'k', location: 'there/app.intoto.jsonl' }];
    };
    const pushed = scripted({ existing: ['absent'], readBacks: [NOT_YET, SEEN] });
    await expect(run(pushed.publisher, { attest })).resolves.toMatchObject([{ status: 'published', attestations: [{ subject: 'app' }] }]);
    const present = scripted({ existing: ['same'], readBacks: [] });
    await expect(run(present.publisher, { attest })).resolves.toMatchObject([
      { status: 'already-present', attestations: [{ subject: 'app' }] },
    ]);
    expect(seen).toEqual([
      { status: 'published', readBackDigest: 'sha256:pushed' },
      { status: 'already-present', readBackDigest: 'sha256:same' },
    ]);
  });

  test('every destination type that declares the already-present check has it run by the runner, before its push', async () => {
    const declaring = [...publishers.values()].filter((p) => p.existing);
    expect(declaring.map((p) => p.type).sort()).toEqual(expect.arrayContaining(['npm', 'rubygems']));
    for (const real of declaring) {
      const pushes: string[] = [];
      // The type's own steps but its preflight (the staged artifact here is empty) and its push, which must not run.
      const publisher: PublisherDefinition = {
        type: real.type,
        description: real.description,
        artifacts: real.artifacts,
        options: real.options,
        tools: real.tools,
        existing: async () => ({ readBackDigest: 'sha256:same', detail: `${real.type}: already there` }),
        publish: async () => {
          pushes.push(real.type);
          return { status: 'published' };
        },
      };
      const [outcome] = await runDestinations(
        [{ destination: destination({ type: real.type, options: {} }), publisher, credentials: {} }],
        options(),
      );
      expect(outcome).toMatchObject({ type: real.type, status: 'already-present', detail: `${real.type}: already there` });
      expect(pushes).toEqual([]);
    }
  });
});

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import nock from 'nock';
import pino from 'pino';
import { z } from 'zod';
import type { DestinationConfig } from '../../src/config/load.js';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { PublishContext, PublisherDefinition } from '../../src/publishing/types.js';
import { CoreEvents } from '../../src/release/events.js';
import { runDestinations, type DestinationJob, type RunDestinationsOptions } from '../../src/release/run-destinations.js';
import type { DestinationOutcome } from '../../src/release/types.js';
import type { Releases } from '../../src/store/releases.js';
import { request } from '../../publishers/http.js';
import { makeTmpDir } from '../support/tmp.js';

/** A promise the test resolves or rejects when it wants: "the upload is still running". */
function deferred() {
  let resolve!: () => void;
  let reject!: (err: unknown) => void;
  const promise = new Promise<void>((res, rej) => ((resolve = res), (reject = rej)));
  return { promise, resolve, reject };
}

/** Publishers whose behaviour each test scripts by destination name; every start and end goes to `timeline`. */
function scripted() {
  const timeline: string[] = [];
  const scripts = new Map<string, (ctx: PublishContext) => Promise<void>>();
  const def: PublisherDefinition<{ script: string }> = {
    type: 'scripted',
    description: 'test double',
    artifacts: ['files'],
    options: z.object({ script: z.string() }),
    tools: [],
    plan: () => ({ actions: ['would run'] }),
    async publish(ctx, { script: name }) {
      timeline.push(`start ${name}`);
      try {
        await (scripts.get(name) ?? (async () => undefined))(ctx);
        timeline.push(`end ${name}`);
        return { status: 'published' };
      } catch (err) {
        timeline.push(`fail ${name}`);
        throw err;
      }
    },
  };
  return { def: def as unknown as PublisherDefinition, timeline, scripts };
}

const destination = (name: string, extra: Partial<DestinationConfig> = {}): DestinationConfig => ({
  name,
  type: 'scripted',
  credentials: {},
  timeout_seconds: 60,
  retries: 0,
  after: [],
  options: { script: name },
  ...extra,
});

describe('runDestinations', () => {
  let tmp: ReturnType<typeof makeTmpDir>;
  let rows: Array<Record<string, unknown>>;
  let events: CoreEvents;
  beforeEach(() => {
    tmp = makeTmpDir('release-bot-run-dest-');
    mkdirSync(path.join(tmp.dir, 'tmp'));
    rows = [];
    events = new CoreEvents();
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
    releases: { upsertDestination: (row: Record<string, unknown>) => rows.push(row) } as unknown as Releases,
    events,
    shutdown: new AbortController().signal,
    retryBaseMs: 5,
    now: () => Date.now(),
    ...extra,
  });
  const jobsOf = (def: PublisherDefinition, dests: DestinationConfig[]): DestinationJob[] =>
    dests.map((d) => ({ destination: d, publisher: def, credentials: {} }));
  const byName = (outcomes: DestinationOutcome[]) => Object.fromEntries(outcomes.map((o) => [o.name, o]));

  test('a destination with after starts only once the one it names has finished; others run meanwhile', async () => {
    const s = scripted();
    const upload = deferred();
    s.scripts.set('upload', () => upload.promise);
    s.scripts.set('other', async () => {
      upload.resolve(); // its callbacks run later, so the timeline below is still the one before the upload ends
      // Runs while the upload is still going: after holds back only the destination that names it.
      expect(s.timeline).toEqual(['start upload', 'start other']);
    });
    const outcomes = await runDestinations(
      jobsOf(s.def, [destination('heroku', { after: ['upload'] }), destination('upload'), destination('other')]),
      options(),
    );
    expect(s.timeline.indexOf('start heroku')).toBeGreaterThan(s.timeline.indexOf('end upload'));
    expect(outcomes.map((o) => [o.name, o.status])).toEqual([
      ['heroku', 'published'],
      ['upload', 'published'],
      ['other', 'published'],
    ]);
  });

  test('a waiting destination holds no slot: with concurrency 1 the one listed first still runs second', async () => {
    const s = scripted();
    const outcomes = await runDestinations(
      jobsOf(s.def, [destination('heroku', { after: ['upload'] }), destination('upload')]),
      options({ concurrency: 1 }),
    );
    expect(s.timeline).toEqual(['start upload', 'end upload', 'start heroku', 'end heroku']);
    expect(outcomes.every((o) => o.status === 'published')).toBe(true);
  });

  test('when the one it waits for fails, the destination is skipped with why, never run, and stored as not done', async () => {
    const s = scripted();
    s.scripts.set('upload', async () => {
      throw new ReleaseBotError(ErrorCode.DestinationFailed, 'the download host refused the key');
    });
    const finished: DestinationOutcome[] = [];
    events.on('destination-finished', ({ outcome }) => finished.push(outcome));
    const outcomes = byName(
      await runDestinations(
        jobsOf(s.def, [
          destination('upload'),
          destination('heroku', { after: ['upload'] }),
          destination('smoke', { after: ['heroku'] }),
          destination('archive'),
        ]),
        options(),
      ),
    );
    expect(outcomes.upload).toMatchObject({ status: 'failed' });
    expect(outcomes.heroku).toMatchObject({ status: 'skipped', attempts: 0, detail: 'not started: it runs after upload, which failed' });
    expect(outcomes.smoke).toMatchObject({ status: 'skipped', detail: 'not started: it runs after heroku, which was skipped' });
    expect(outcomes.archive).toMatchObject({ status: 'published' });
    expect(s.timeline).not.toContain('start heroku');
    expect(s.timeline).not.toContain('start smoke');
    // "pending", never "already-present": a resume must run it.
    expect(rows.filter((r) => r.destination === 'heroku')).toEqual([
      expect.objectContaining({ status: 'pending', attempts: 0, detail: 'not started: it runs after upload, which failed' }),
    ]);
    expect(finished.map((o) => `${o.name} ${o.status}`).sort()).toEqual([
      'archive published',
      'heroku skipped',
      'smoke skipped',
      'upload failed',
    ]);
  });

  test('a name missing from the run was done by the release being resumed, and a dry run plans in order', async () => {
    const s = scripted();
    await expect(runDestinations(jobsOf(s.def, [destination('heroku', { after: ['upload'] })]), options())).resolves.toMatchObject([
      { name: 'heroku', status: 'published' },
    ]);
    const planned = await runDestinations(
      jobsOf(s.def, [destination('heroku', { after: ['upload'] }), destination('upload')]),
      options({ dryRun: true }),
    );
    expect(planned.map((o) => [o.name, o.status])).toEqual([
      ['heroku', 'planned'],
      ['upload', 'planned'],
    ]);
  });

  describe('Retry-After', () => {
    const API = 'https://api.example.com';
    /** A destination type that makes one real request through publishers/http.ts per attempt. */
    const fetching: PublisherDefinition = {
      type: 'fetching',
      description: 'test double',
      artifacts: ['files'],
      options: z.object({}),
      tools: [],
      async publish(ctx: PublishContext) {
        await request(ctx, { name: 'Example', credential: 'TOKEN' }, { url: `${API}/thing`, headers: {} });
        return { status: 'published' as const };
      },
    };

    /** Virtual time: waits are recorded and move the clock, so a 2 s Retry-After costs no real time. */
    function virtualTime() {
      let clock = 1_000_000;
      const waits: number[] = [];
      return { waits, now: () => clock, sleep: async (ms: number) => void (waits.push(ms), (clock += ms)) };
    }

    test('a 429 with Retry-After: 2 is retried no sooner than 2 s later', async () => {
      const time = virtualTime();
      const seen: number[] = [];
      nock(API)
        .get('/thing')
        .reply(() => (seen.push(time.now()), [429, { message: 'slow down' }, { 'Retry-After': '2' }]));
      nock(API)
        .get('/thing')
        .reply(() => (seen.push(time.now()), [200, { ok: true }]));
      const [outcome] = await runDestinations(
        [{ destination: destination('api', { type: 'fetching', retries: 2 }), publisher: fetching, credentials: {} }],
        options({ now: time.now, sleep: time.sleep }),
      );
      expect(outcome).toMatchObject({ status: 'published', attempts: 2 });
      expect(time.waits).toHaveLength(1);
      expect(time.waits[0]).toBeGreaterThanOrEqual(2000);
      expect((seen[1] as number) - (seen[0] as number)).toBeGreaterThanOrEqual(2000);
    });

    test('a Retry-After that would pass the destination timeout fails at once as retryable, saying why', async () => {
      const time = virtualTime();
      nock(API).get('/thing').reply(429, { message: 'slow down' }, { 'Retry-After': '120' });
      const [outcome] = await runDestinations(
        [{ destination: destination('api', { type: 'fetching', retries: 2, timeout_seconds: 60 }), publisher: fetching, credentials: {} }],
        options({ now: time.now, sleep: time.sleep }),
      );
      expect(time.waits).toEqual([]);
      expect(outcome).toMatchObject({ status: 'failed', attempts: 1, error: { code: ErrorCode.DestinationFailed, retryable: true } });
      expect(outcome?.error?.message).toMatch(
        /rate-limiting us \(429.*not retried: the service asked to wait 120 s \(Retry-After\), which would pass this destination's timeout_seconds \(60 s\)/,
      );
    });

    test('without Retry-After the backoff stays the configured exponential one', async () => {
      const time = virtualTime();
      nock(API).get('/thing').twice().reply(503, 'down');
      nock(API).get('/thing').reply(200, {});
      const [outcome] = await runDestinations(
        [{ destination: destination('api', { type: 'fetching', retries: 2 }), publisher: fetching, credentials: {} }],
        options({ now: time.now, sleep: time.sleep, retryBaseMs: 100 }),
      );
      expect(outcome).toMatchObject({ status: 'published', attempts: 3 });
      expect(time.waits).toEqual([100, 200]);
    });
  });

  describe('preflight', () => {
    /** The scripted publisher with a preflight that refuses the destinations named in `refuse`, recording what it was given. */
    function withPreflight(refuse: string[]) {
      const base = scripted();
      const seen: Array<{ name: string; credentials: Record<string, string> }> = [];
      const def = {
        ...(base.def as unknown as PublisherDefinition<{ script: string }>),
        preflight(ctx: PublishContext, { script: name }: { script: string }) {
          base.timeline.push(`preflight ${name}`);
          seen.push({ name, credentials: { ...ctx.credentials } });
          if (refuse.includes(name))
            throw new ReleaseBotError(ErrorCode.BadInput, `${name}: the tarball declares crown-jewel, not tiny-util (secret-value-7f)`);
        },
      };
      return { ...base, def: def as unknown as PublisherDefinition, seen };
    }

    test('every preflight runs before any destination publishes', async () => {
      const p = withPreflight([]);
      const outcomes = await runDestinations(
        jobsOf(p.def, [destination('npm'), destination('mirror'), destination('late', { after: ['npm'] })]),
        options({ concurrency: 1 }),
      );
      expect(outcomes.map((o) => o.status)).toEqual(['published', 'published', 'published']);
      const firstStart = p.timeline.findIndex((t) => t.startsWith('start'));
      expect(p.timeline.slice(0, firstStart).sort()).toEqual(['preflight late', 'preflight mirror', 'preflight npm']);
    });

    test('one refusal: nothing publishes anywhere, the refusing destination fails with its reason, the others are skipped and stored as pending', async () => {
      const p = withPreflight(['npm']);
      const jobs = [destination('npm'), destination('mirror')].map((d) => ({
        destination: d,
        publisher: p.def,
        credentials: { NPM_TOKEN: 'secret-value-7f' },
      }));
      const outcomes = byName(
        await runDestinations(
          jobs,
          options({ context: { ...options().context, redact: (t) => t.replaceAll('secret-value-7f', '[REDACTED]') } }),
        ),
      );
      expect(p.timeline.filter((t) => !t.startsWith('preflight'))).toEqual([]);
      expect(outcomes.npm).toMatchObject({
        status: 'failed',
        attempts: 0,
        detail: 'not run: its preflight refused the artifact',
        error: { code: ErrorCode.BadInput, retryable: false, message: 'npm: the tarball declares crown-jewel, not tiny-util ([REDACTED])' },
      });
      expect(outcomes.mirror).toMatchObject({
        status: 'skipped',
        attempts: 0,
        detail: 'not run: the preflight of npm refused the artifact, so no destination published',
      });
      expect(rows).toEqual([
        expect.objectContaining({
          destination: 'npm',
          status: 'failed',
          errorCode: ErrorCode.BadInput,
          errorMessage: expect.stringContaining('[REDACTED]'),
        }),
        expect.objectContaining({ destination: 'mirror', status: 'pending' }),
      ]);
      // A preflight decides from the artifact alone: it is given no credential.
      expect(p.seen.map((s) => s.credentials)).toEqual([{}, {}]);
    });

    test('a dry run runs the preflights too and plans nothing when one refuses', async () => {
      const p = withPreflight(['mirror']);
      const outcomes = await runDestinations(jobsOf(p.def, [destination('npm'), destination('mirror')]), options({ dryRun: true }));
      expect(outcomes.map((o) => o.status)).toEqual(['skipped', 'failed']);
      expect(outcomes.some((o) => o.plan)).toBe(false);
      const passing = withPreflight([]);
      await expect(runDestinations(jobsOf(passing.def, [destination('npm')]), options({ dryRun: true }))).resolves.toMatchObject([
        { status: 'planned' },
      ]);
      expect(passing.timeline).toEqual(['preflight npm']);
    });
  });
});

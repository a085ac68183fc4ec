import { z } from 'zod';
import { ErrorCode } from '../../src/errors.js';
import { definePublisher } from '../../src/publishing/define-publisher.js';
import type { PublishContext, YankContext } from '../../src/publishing/types.js';
import { publishers } from '../../publishers/registry.js';

const options = z.object({ target: z.string().regex(/^[a-z]+$/), mode: z.enum(['scp', 'rsync']).default('scp') }).strict();
type Options = z.infer<typeof options>;

/** A definition that records the options each typed step was handed. */
function recording() {
  const seen: Array<[string, Options]> = [];
  const publisher = definePublisher<Options>({
    type: 'recording',
    description: 'records its options',
    artifacts: ['files'],
    options,
    tools: (o) => [o.mode],
    preflight: (_ctx, o) => void seen.push(['preflight', o]),
    publish: async (_ctx, o) => (seen.push(['publish', o]), { status: 'published' }),
    plan: (_ctx, o) => (seen.push(['plan', o]), { actions: [o.target] }),
    yank: async (_ctx, o) => (seen.push(['yank', o]), { status: 'yanked', detail: o.target }),
    attest: async (_ctx, o) => (seen.push(['attest', o]), { location: o.target }),
  });
  return { publisher, seen };
}

const ctx = {} as PublishContext;
const yankCtx = {} as YankContext;
const attestation = { envelope: Buffer.from('{}\n'), digest: '0'.repeat(64), keyId: 'k', fileName: 'a.intoto.jsonl' };

test('every step hands its typed step the options its own schema parsed (defaults applied), tools included', async () => {
  const { publisher, seen } = recording();
  const raw = { target: 'alpha' };
  await publisher.preflight?.(ctx, raw);
  await publisher.publish(ctx, raw);
  await publisher.plan?.(ctx, raw);
  await publisher.yank?.(yankCtx, raw);
  await publisher.attest?.(ctx, raw, attestation);
  expect(seen).toEqual(['preflight', 'publish', 'plan', 'yank', 'attest'].map((step) => [step, { target: 'alpha', mode: 'scp' }]));
  expect(typeof publisher.tools === 'function' ? publisher.tools({ target: 'alpha', mode: 'rsync' }) : []).toEqual(['rsync']);
});

test('options the schema refuses never reach a typed step: a final CONFIG_INVALID naming the key', async () => {
  const { publisher, seen } = recording();
  await expect(publisher.publish(ctx, { target: 'Alpha; rm -rf /' })).rejects.toMatchObject({
    code: ErrorCode.ConfigInvalid,
    retryable: false,
    message: expect.stringContaining('target'),
  });
  await expect(publisher.yank!(yankCtx, { target: 'alpha', extra: 1 })).rejects.toMatchObject({ code: ErrorCode.ConfigInvalid });
  expect(() => (publisher.tools as (o: Record<string, unknown>) => readonly string[])({ mode: 'ftp' })).toThrow(/schema refuses/);
  expect(seen).toEqual([]);
});

test('the registry holds every type with its own steps and schema: options parsed once parse to themselves', () => {
  expect([...publishers.keys()].sort()).toEqual(['directory', 'docker', 'exec', 'github', 'heroku', 'npm', 'rubygems', 'ssh']);
  const docker = publishers.get('docker')!;
  const once = docker.options.parse({ repository: 'registry.example.com/org/conjur-cli' });
  expect(docker.options.parse(once)).toEqual(once);
  expect(typeof docker.yank).toBe('function');
  expect(typeof docker.attest).toBe('function');
});

import { Readiness, type ReadinessCheck } from '../../src/readiness.js';

/** A check that counts its runs and answers what the test says. */
function counting(name: string, cacheMs?: number): ReadinessCheck & { runs: number; answer: { ok: boolean; detail: string } | Error } {
  const check = {
    name,
    runs: 0,
    answer: { ok: true, detail: 'fine' } as { ok: boolean; detail: string } | Error,
    ...(cacheMs !== undefined ? { cacheMs } : {}),
    async run() {
      check.runs += 1;
      if (check.answer instanceof Error) throw check.answer;
      return check.answer;
    },
  };
  return check;
}

describe('Readiness', () => {
  it('caches network checks for their cacheMs (a probe cannot hammer Conjur), and shares one run among concurrent probes', async () => {
    let now = 1_000_000;
    const conjur = counting('conjur', 5_000);
    const db = counting('database');
    const readiness = new Readiness(
      [conjur, db],
      (t) => t,
      () => now,
    );
    await Promise.all([readiness.report(), readiness.report(), readiness.report()]);
    expect(conjur.runs).toBe(1);
    now += 4_000;
    await readiness.report();
    expect(conjur.runs).toBe(1);
    expect(db.runs).toBe(4);
    now += 2_000;
    await readiness.report();
    expect(conjur.runs).toBe(2);
  });

  it('names every failing check, and redacts what a failure says', async () => {
    const conjur = counting('conjur', 5_000);
    conjur.answer = new Error('connect ECONNREFUSED with api key SECRET-KEY-123');
    const policy = counting('policy');
    policy.answer = { ok: false, detail: 'the last reload was refused' };
    const ok = counting('database');
    const r = await new Readiness([conjur, policy, ok], (t) => t.replaceAll('SECRET-KEY-123', '[REDACTED]')).report();
    expect(r).toMatchObject({
      ready: false,
      failing: ['conjur', 'policy'],
      checks: { conjur: { ok: false, detail: 'connect ECONNREFUSED with api key [REDACTED]' }, database: { ok: true } },
    });
    expect(JSON.stringify(r)).not.toContain('SECRET-KEY-123');
  });
});

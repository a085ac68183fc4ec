import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { toReleaseBotError, type ReleaseBotError } from '../../errors.js';
import { abortable } from './abortable.js';
import { stepContext, type DestinationJob, type RunDestinationsOptions } from './types.js';

/**
 * Each destination's preflight (concurrently: they read the private copy only), within its timeout.
 * Decision: a preflight gets no credential, since it must decide from the artifact alone, and it is
 * never retried: what the artifact says does not change on a second look.
 */
export async function runPreflights(jobs: readonly DestinationJob[], o: RunDestinationsOptions): Promise<Map<string, ReleaseBotError>> {
  const refusals = new Map<string, ReleaseBotError>();
  await Promise.all(
    jobs.map(async ({ destination: dest, publisher }) => {
      if (!publisher.preflight) return;
      const log = o.log.child({ destination: dest.name, type: dest.type, step: 'preflight' });
      const tmpDir = await mkdtemp(path.join(o.tmpRoot, `${dest.name}-preflight-`));
      const signal = AbortSignal.any([AbortSignal.timeout(dest.timeout_seconds * 1000), o.shutdown]);
      const ctx = stepContext(o, dest.name, { credentials: {}, signal, tmpDir, log });
      try {
        await abortable((async () => publisher.preflight?.(ctx, dest.options))(), signal, dest.timeout_seconds);
      } catch (thrown) {
        const err = toReleaseBotError(thrown);
        refusals.set(dest.name, err);
        log.warn({ code: err.code, err: o.context.redact(err.message) }, 'preflight refused');
      } finally {
        await rm(tmpDir, { recursive: true, force: true });
      }
    }),
  );
  return refusals;
}

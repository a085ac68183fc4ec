import { ErrorCode, ReleaseBotError } from '../../errors.js';
import type { PublishContext, PublisherDefinition, PublishResult } from '../../publishing/types.js';
import { sleep } from './abortable.js';

/** Waits between read-back attempts; resolves early when `signal` aborts. */
export type Sleep = (ms: number, signal: AbortSignal) => Promise<void>;

/**
 * One attempt at a destination, the lifecycle every type shares: the already-present check (when the
 * type declares `existing`), the push, the push's conflict asked again, and the read-back with its
 * retries (when the type declares `readBack`). A publisher writes each question once; the loop around
 * them is here, so no publisher repeats it.
 */
export async function deliver(
  publisher: PublisherDefinition,
  ctx: PublishContext,
  options: Record<string, unknown>,
  pause: Sleep = sleep,
): Promise<PublishResult> {
  const found = await publisher.existing?.(ctx, options);
  if (found) return { ...found, status: 'already-present' };
  let pushed: PublishResult;
  try {
    pushed = await publisher.publish(ctx, options);
  } catch (err) {
    // A version that appeared meanwhile (a concurrent or earlier attempt) is judged by its digest, never overwritten.
    if (!(err instanceof ReleaseBotError) || err.code !== ErrorCode.DestinationConflict || !publisher.existing) throw err;
    const now = await publisher.existing(ctx, options);
    if (now) return { ...now, status: 'already-present' };
    throw err;
  }
  const step = publisher.readBack;
  if (!step || pushed.status !== 'published') return pushed;
  let missing = '';
  for (let attempt = 1; attempt <= step.attempts; attempt += 1) {
    if (attempt > 1) await pause(step.intervalMs(options), ctx.signal);
    const seen = await step.read(ctx, options, pushed);
    if (seen.visible) return { ...pushed, readBackDigest: seen.readBackDigest };
    missing = seen.detail;
  }
  // Pushed but not shown yet: the next attempt's already-present check finds it once the destination catches up.
  throw new ReleaseBotError(ErrorCode.DestinationFailed, `${missing}; the retry will find it`, { retryable: true });
}

/** A dry run's actions: nothing when the destination already holds the release, else the type's plan (or `fallback`). */
export async function planDelivery(
  publisher: PublisherDefinition,
  ctx: PublishContext,
  options: Record<string, unknown>,
  fallback: string,
): Promise<string[]> {
  const found = await publisher.existing?.(ctx, options);
  if (found) return [`nothing: ${found.detail}`];
  return publisher.plan ? (await publisher.plan(ctx, options)).actions : [fallback];
}

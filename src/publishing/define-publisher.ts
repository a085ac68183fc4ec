import type { z } from 'zod';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { PublisherDefinition } from './types.js';

/**
 * A destination type as the registry holds it: every step takes options as the projects file gave
 * them, and `options` still says what its own schema parses them into (for tests and tooling).
 */
export interface Publisher<Options extends Record<string, unknown> = Record<string, unknown>> extends PublisherDefinition {
  options: z.ZodType<Options>;
}

/**
 * Defines a destination type with typed options and erases that type safely: each step parses what it
 * is handed with the definition's own schema before the typed step sees it, so no publisher can be
 * called with options its schema never accepted, and the registry needs no cast. The schemas are
 * idempotent (defaults, strict keys, a trailing-slash trim), so options the projects file loader
 * already parsed parse to themselves. A refusal is a rejected promise, as any other failure of a step.
 */
export function definePublisher<Options extends Record<string, unknown>>(def: PublisherDefinition<Options>): Publisher<Options> {
  const parse = (raw: Record<string, unknown>): Options => {
    const parsed = def.options.safeParse(raw);
    if (parsed.success) return parsed.data;
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`).join('; ');
    throw new ReleaseBotError(
      ErrorCode.ConfigInvalid,
      `options of a ${def.type} destination that its schema refuses (${problems}): fix the destination in the projects file (release-bot check-config lists every problem)`,
    );
  };
  const { tools, preflight, plan, yank, attest, existing, readBack } = def;
  return {
    type: def.type,
    description: def.description,
    artifacts: def.artifacts,
    options: def.options,
    tools: typeof tools === 'function' ? (raw: Record<string, unknown>) => tools(parse(raw)) : tools,
    ...(def.binaryCredentials !== undefined ? { binaryCredentials: def.binaryCredentials } : {}),
    publish: async (ctx, raw) => def.publish(ctx, parse(raw)),
    ...(preflight ? { preflight: async (ctx, raw) => preflight(ctx, parse(raw)) } : {}),
    ...(plan ? { plan: async (ctx, raw) => plan(ctx, parse(raw)) } : {}),
    ...(existing ? { existing: async (ctx, raw) => existing(ctx, parse(raw)) } : {}),
    ...(readBack
      ? {
          readBack: {
            attempts: readBack.attempts,
            intervalMs: (raw) => readBack.intervalMs(parse(raw)),
            read: async (ctx, raw, pushed) => readBack.read(ctx, parse(raw), pushed),
          },
        }
      : {}),
    ...(yank ? { yank: async (ctx, raw) => yank(ctx, parse(raw)) } : {}),
    ...(attest ? { attest: async (ctx, raw, attestation) => attest(ctx, parse(raw), attestation) } : {}),
  };
}

import { createRequire } from 'node:module';
import type { z as Zod } from 'zod';
import type * as ZodMini from 'zod/mini';

const require = createRequire(import.meta.url);

/**
 * zod for the product's schemas (the configuration, each destination type's options), loaded so that a
 * CLI command starts fast (issue 14: `release-bot status` in under 300 ms): its CommonJS build, which
 * Node 20 loads in about two thirds of the time of its ES modules, one copy for every schema. Every entry
 * point of zod 4 also loads its 48 translations (about 60 ms of a command's start); we leave that as zod
 * ships it rather than stand in for a file of its own.
 */
function loadZod(): { z: typeof Zod; mini: typeof ZodMini } {
  return { ...(require('zod') as { z: typeof Zod }), mini: require('zod/mini') as typeof ZodMini };
}

const zod = loadZod();
export const z = zod.z;
/** zod's mini API, the same instance: schemas that every command builds (the configuration's). */
export const zm = zod.mini;
// Each of these schemas is parsed a handful of times per process (the configuration at start and at a
// reload, a destination's options): compiling a parser for each object schema on its first parse (zod's
// default) costs more than it ever gives back.
z.config({ jitless: true });

/** zod's types under the same names, so that a schema module reads as with `import { z } from 'zod'`. */
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace zm {
  export type infer<T> = ZodMini.infer<T>;
}
/** A check that `zm.number().check(...)` takes. */
export type NumberCheck = ZodMini.core.$ZodCheck<number>;
// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace z {
  export type infer<T> = Zod.infer<T>;
  export type input<T> = Zod.input<T>;
  export type output<T> = Zod.output<T>;
  export type ZodType<O = unknown, I = unknown> = Zod.ZodType<O, I>;
}

import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import path from 'node:path';
import type { z as Zod } from 'zod';
import type * as ZodMini from 'zod/mini';

const require = createRequire(import.meta.url);

/**
 * zod for the product's schemas (the configuration, each destination type's options), loaded so that a
 * CLI command starts fast (issue 14: `release-bot status` in under 300 ms). Every entry point of zod 4
 * imports its 48 translations (`v4/locales/index`) whatever is used, and its ES modules load slower than
 * its CommonJS build: together about half of zod's start-up. So this takes the CommonJS build and
 * stands in for the translations' index until something reads it: the English messages every problem
 * is written in (`v4/locales/en`) are loaded by zod itself as always, and `z.locales.<lang>` still
 * works, loading the real index on first use. When zod's layout changes the stand-in is not put in place
 * and zod loads as it ships (test/cli/lazy-commands.test.ts notices).
 */
function loadZod(): { z: typeof Zod; mini: typeof ZodMini } {
  const entry = require.resolve('zod');
  const index = path.join(path.dirname(entry), 'v4', 'locales', 'index.cjs');
  if (existsSync(index) && !(index in require.cache)) {
    const stub = new Module(index);
    stub.filename = index;
    stub.loaded = true;
    stub.exports = new Proxy(
      {},
      {
        get: (_, key) => (key === '__esModule' ? true : (realLocales(index) as Record<string | symbol, unknown>)[key]),
        has: (_, key) => key in realLocales(index),
      },
    );
    require.cache[index] = stub;
  }
  return { ...(require('zod') as { z: typeof Zod }), mini: require('zod/mini') as typeof ZodMini };
}

let locales: object | undefined;
/** The real translations' index, loaded the first time anything asks the stand-in for one. */
function realLocales(index: string): object {
  if (!locales) {
    delete require.cache[index];
    locales = require(index) as object;
  }
  return locales;
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

import { createRequire } from 'node:module';
import type * as Commander from 'commander';

/**
 * commander's classes, required rather than imported: commander is a CommonJS package, and Node 20
 * loads one through `require` in about two thirds of the time an `import` takes (no export scan, no
 * module wrapper), which every command pays at start (issue 14: CLI start-up). Types come from
 * `import type { Command } from 'commander'` as usual.
 */
export const { Command, Option, InvalidArgumentError } = createRequire(import.meta.url)('commander') as typeof Commander;

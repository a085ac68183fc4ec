// A module loader hook (node --experimental-loader) that appends every module URL a process resolves to
// the file named by RECORD_IMPORTS_TO: what a CLI command loads, without timing anything.
import { appendFileSync } from 'node:fs';

export async function resolve(specifier, context, next) {
  const resolved = await next(specifier, context);
  if (process.env.RECORD_IMPORTS_TO) appendFileSync(process.env.RECORD_IMPORTS_TO, `${resolved.url}\n`);
  return resolved;
}

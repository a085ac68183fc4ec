// Preloaded with `node --import` beside test/support/record-imports.mjs (which sees only what `import`
// resolves): at exit, appends every file in the process's CommonJS cache (what `require` loaded:
// commander, yaml, zod's CommonJS build, better-sqlite3 and theirs) to RECORD_IMPORTS_TO, one per line,
// each after `required `.
import { appendFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const cache = createRequire(import.meta.url).cache;

process.on('exit', () => {
  const file = process.env.RECORD_IMPORTS_TO;
  if (file)
    appendFileSync(
      file,
      Object.keys(cache)
        .map((f) => `required file://${f}\n`)
        .join(''),
    );
});

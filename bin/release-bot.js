#!/usr/bin/env node
// The CLI runs the compiled JavaScript: `npm ci` builds it (the `prepare` script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../dist/handlers/cli/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  console.error('release-bot is not built: run `npm run build` (npm ci does it) in ' + fileURLToPath(new URL('..', import.meta.url)));
  process.exit(70);
}
await import(entry.href);

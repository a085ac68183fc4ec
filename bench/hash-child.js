// Child process of the hashing bench: hashes one file the way the bot does and reports its memory.
//   node bench/hash-child.js <bot|copy|readfile> <file> [copy-target]
// bot:      sha256File (staging check: streamed, 1 MiB chunks)
// copy:     copyHandleWithSha256 (the quarantine at staging and the private copy at release: the
//           kernel copies from the open file, then the copy is hashed)
// quarantine: Quarantine.ingest of <staging>/<project>/<version>/ (what a report costs)
// readfile: the whole file read into memory, then hashed: what the bot must never do (a contrast
//           that shows the memory figure would catch it)
import { createHash } from 'node:crypto';
import { open, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { procStatus } from './lib/util.js';

const [mode, file, target] = process.argv.slice(2);
const { sha256File, copyHandleWithSha256 } = await import(new URL('../dist/src/staging/hash.js', import.meta.url).href);

const before = procStatus();
const started = performance.now();
let sha256;
if (mode === 'bot') sha256 = await sha256File(file);
else if (mode === 'copy') {
  const handle = await open(file, 'r');
  sha256 = (await copyHandleWithSha256(handle, target)).sha256;
  await handle.close();
} else if (mode === 'quarantine') {
  // <staging-dir> is `file`, then <project> <version> <quarantine-root>: the whole staging path (walk, checks, copy, hash).
  const [project, version, root] = process.argv.slice(4);
  const { Quarantine } = await import(new URL('../dist/src/staging/quarantine.js', import.meta.url).href);
  const { DEFAULT_STAGING_LIMITS } = await import(new URL('../dist/src/staging/limits.js', import.meta.url).href);
  const files = await new Quarantine(root).ingest({
    stagingDir: file,
    project,
    version,
    ignore: new Set(),
    limits: DEFAULT_STAGING_LIMITS,
  });
  sha256 = files[0].sha256;
} else if (mode === 'readfile')
  sha256 = createHash('sha256')
    .update(await readFile(file))
    .digest('hex');
else throw new Error(`unknown mode ${mode}: use bot, copy or readfile`);
const hashMs = performance.now() - started;
const after = procStatus();

process.stdout.write(
  `${JSON.stringify({ mode, sha256, hashMs, baselineRss: before.VmRSS, baselineHwm: before.VmHWM, peakRss: after.VmHWM, rssAfter: after.VmRSS })}\n`,
);

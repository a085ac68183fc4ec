// Child process of the hashing bench: hashes one file the way the bot does and reports its memory.
//   node bench/hash-child.js <bot|copy|readfile> <file> [copy-target]
// bot:      sha256File (staging check: streamed, 1 MiB chunks)
// copy:     copyWithSha256 (release: the private verified copy, hashed while copied)
// readfile: the whole file read into memory, then hashed: what the bot must never do (a contrast
//           that shows the memory figure would catch it)
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { procStatus } from './lib/util.js';

const [mode, file, target] = process.argv.slice(2);
const { sha256File, copyWithSha256 } = await import(new URL('../dist/src/staging/hash.js', import.meta.url).href);

const before = procStatus();
const started = performance.now();
let sha256;
if (mode === 'bot') sha256 = await sha256File(file);
else if (mode === 'copy') sha256 = (await copyWithSha256(file, target)).sha256;
else if (mode === 'readfile') sha256 = createHash('sha256').update(await readFile(file)).digest('hex');
else throw new Error(`unknown mode ${mode}: use bot, copy or readfile`);
const hashMs = performance.now() - started;
const after = procStatus();

process.stdout.write(`${JSON.stringify({ mode, sha256, hashMs, baselineRss: before.VmRSS, baselineHwm: before.VmHWM, peakRss: after.VmHWM, rssAfter: after.VmRSS })}\n`);

// Benchmarks of issue 7: `npm run bench` (full: writes BENCHMARKS.md), `BENCH_SMOKE=1 npm run bench`
// (tiny sizes, asserts no timing, writes nothing), `node bench/run.js --only hashing,memory`.
// Runs against the built code in dist/ (`npm run bench` builds first).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { textReport, writeBenchmarks, benchmarksFile } from './lib/report.js';
import { cleanupTmpDirs, machine, performance, SMOKE, stopAllProcesses } from './lib/util.js';

const PARTS = ['cli-start', 'slack-ack', 'jenkins-webhook', 'hashing', 'quarantine', 'release-overhead', 'conjur-round-trips', 'memory'];
const PART_TIMEOUT_MS = SMOKE ? 90_000 : 45 * 60_000;

function parseArgs(argv) {
  const opts = { only: undefined, write: !SMOKE };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--only') opts.only = (argv[++i] ?? '').split(',');
    else if (a.startsWith('--only=')) opts.only = a.slice(7).split(',');
    else if (a === '--no-write') opts.write = false;
    else if (a === '--help' || a === '-h') {
      console.log(`usage: node bench/run.js [--only ${PARTS.join(',')}] [--no-write]\n  BENCH_SMOKE=1: tiny sizes, nothing written`);
      process.exit(0);
    } else throw new Error(`unknown argument ${a}: see --help`);
  }
  for (const id of opts.only ?? []) if (!PARTS.includes(id)) throw new Error(`unknown part ${id}: one of ${PARTS.join(', ')}`);
  return opts;
}

function withTimeout(promise, millis, what) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`${what} did not finish within ${millis / 1000} s`)), millis))),
  ]).finally(() => clearTimeout(timer));
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  if (!existsSync(fileURLToPath(new URL('../dist/app/create.js', import.meta.url))))
    throw new Error('dist/ is missing: run `npm run build` first (npm run bench does)');
  const parts = [];
  for (const id of PARTS) parts.push({ id, ...(await import(`./${id}.js`)) });
  const selected = parts.filter((p) => !opts.only || opts.only.includes(p.id));
  const info = machine();
  console.log(
    `release-bot benchmarks${SMOKE ? ' (SMOKE: tiny sizes, figures are meaningless)' : ''}: ${info.cpu}, ${info.cores} cores, ${info.ramGiB} GiB, Node ${info.node}, ${info.date}`,
  );

  const results = new Map();
  const failures = [];
  for (const part of selected) {
    const availability = part.available ? await part.available() : { ok: true };
    if (!availability.ok) {
      results.set(part.id, { skipped: availability.reason });
      console.log(textReport(part, results.get(part.id)));
      // A full run must measure everything: BENCHMARKS.md with a hole in it would read as complete.
      if (!SMOKE) failures.push(part.id);
      continue;
    }
    const started = performance.now();
    const log = (msg) => console.log(`   [${part.id} ${((performance.now() - started) / 1000).toFixed(1)}s] ${msg}`);
    console.log(`\n-- running ${part.id}`);
    try {
      const result = await withTimeout(part.run({ log }), PART_TIMEOUT_MS, part.id);
      results.set(part.id, result);
      console.log(textReport(part, result));
      log('done');
    } catch (err) {
      failures.push(part.id);
      console.error(`!! ${part.id} failed: ${err.stack ?? err}`);
    } finally {
      await stopAllProcesses();
    }
  }

  if (opts.write && failures.length === 0) {
    writeBenchmarks(parts, results, info);
    console.log(`\nwrote ${benchmarksFile}`);
  } else if (opts.write) console.log(`\nnot writing ${benchmarksFile}: ${failures.join(', ')} failed`);
  if (failures.length > 0) process.exitCode = 1;
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    cleanupTmpDirs();
    stopAllProcesses().finally(() => process.exit(130));
  });
}

try {
  await main();
} catch (err) {
  console.error(err.stack ?? String(err));
  process.exitCode = 1;
} finally {
  cleanupTmpDirs();
}

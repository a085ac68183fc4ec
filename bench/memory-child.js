// Child process of the memory bench: does what `release-bot serve` does (app/serve.ts serve(): the
// HTTP server, the core, the store), then runs stage + release cycles in-process and reports its
// memory. Run with --expose-gc. Environment: the bot's, plus BENCH_RELEASES, BENCH_PROJECT,
// BENCH_VERSIONS (comma-separated, already in the staging directory), BENCH_LOGIN.
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { serve } from '../dist/app/serve.js';
import { nullStream, procStatus } from './lib/util.js';

const project = process.env.BENCH_PROJECT;
const versions = process.env.BENCH_VERSIONS.split(',');
const login = process.env.BENCH_LOGIN;
const checkpoints = Math.max(1, Math.round(versions.length / 10));

function sample(label, releases, gc) {
  if (gc) globalThis.gc();
  const s = procStatus();
  const m = process.memoryUsage();
  return {
    label,
    releases,
    gc,
    rss: s.VmRSS,
    hwm: s.VmHWM,
    heapUsed: m.heapUsed,
    heapTotal: m.heapTotal,
    external: m.external,
    arrayBuffers: m.arrayBuffers,
  };
}

const running = await serve({ logDestination: nullStream() });
const port = running.server.address().port;
await sleep(2000);
const samples = [sample('idle', 0, false), sample('idle, after gc', 0, true)];

const started = performance.now();
const durations = [];
for (const [i, version] of versions.entries()) {
  const t0 = performance.now();
  await running.app.core.stage({
    project,
    version,
    build: { number: i + 1, url: `https://jenkins.example/job/${project}/${i + 1}/`, commit: 'f'.repeat(40) },
    reportedBy: 'bench',
    actor: { via: 'bench' },
  });
  const summary = await running.app.core.release(project, version, { login, via: 'cli' });
  if (summary.state !== 'published') throw new Error(`release ${version} ended ${summary.state}: ${JSON.stringify(summary.error)}`);
  durations.push(performance.now() - t0);
  if ((i + 1) % checkpoints === 0 && i + 1 < versions.length) samples.push(sample('checkpoint', i + 1, true));
}
const totalMs = performance.now() - started;
samples.push(sample(`after ${versions.length} releases`, versions.length, false));
samples.push(sample(`after ${versions.length} releases, after gc`, versions.length, true));
const health = await fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.status);
await running.stop();
process.stdout.write(`${JSON.stringify({ samples, totalMs, durations, health })}\n`);

// Part 6: memory. RSS of an idle `release-bot serve` (the real CLI) against a bare express server,
// and of the bot's serve() after N stage + release cycles against its own idle RSS.
import path from 'node:path';
import { botEnv, filesProjectYaml, MEMBER, startConjur, writeStagedFiles } from './lib/bot.js';
import { freePort, makeTmpDir, median, mib, ms, percentile, ratio, removeTmpDir, repoRoot, runNodeJson, sleep, SMOKE, startProcess, stopProcess, procStatus, waitForHttp } from './lib/util.js';

export const id = 'memory';
export const title = 'Memory (issue 7, item 6)';

const RELEASES = SMOKE ? 20 : 1000;
const IDLE_ROUNDS = SMOKE ? 1 : 3;
const SETTLE_MS = SMOKE ? 500 : 3000;
const PROJECT = 'bench-files';

/** Starts a server process, waits for /healthz, lets it settle, and samples its RSS a few times. */
async function idleRss(file, args, env) {
  const port = await freePort();
  const proc = startProcess(file, args, { env: { ...env, PORT: String(port) }, cwd: repoRoot });
  try {
    await waitForHttp(`http://127.0.0.1:${port}/healthz`, proc);
    await sleep(SETTLE_MS);
    const rss = [];
    for (let i = 0; i < 5; i++) {
      rss.push(procStatus(proc.child.pid).VmRSS);
      await sleep(100);
    }
    return median(rss);
  } finally {
    await stopProcess(proc);
  }
}

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-memory-');
  const { conjur, apiKey } = await startConjur();
  try {
    const env = botEnv(root, conjur, apiKey, filesProjectYaml(root, PROJECT, 2));
    const bin = path.join(repoRoot, 'bin', 'release-bot.js');

    log(`idle RSS: release-bot serve vs bare express, ${IDLE_ROUNDS} interleaved round(s)`);
    const bot = [];
    const bare = [];
    for (let r = 0; r < IDLE_ROUNDS; r++) {
      bot.push(await idleRss(process.execPath, [bin, 'serve'], env));
      bare.push(await idleRss(process.execPath, [path.join(repoRoot, 'bench', 'bare-express-child.js')], { PATH: process.env.PATH }));
    }

    log(`staging files for ${RELEASES} versions`);
    const versions = Array.from({ length: RELEASES }, (_, i) => `2.${Math.floor(i / 100)}.${i % 100}`);
    for (const v of versions) writeStagedFiles(root, PROJECT, v);
    log(`${RELEASES} stage + release cycles in a serve() process`);
    const port = await freePort();
    const result = await runNodeJson('memory-child.js', [], {
      nodeArgs: ['--expose-gc'],
      cwd: repoRoot,
      env: { ...env, PORT: String(port), BENCH_PROJECT: PROJECT, BENCH_VERSIONS: versions.join(','), BENCH_LOGIN: MEMBER },
      timeoutMs: 30 * 60_000,
    });
    if (result.health !== 200) throw new Error(`/healthz answered ${result.health} after the releases`);
    const at = (label) => result.samples.find((s) => s.label === label);
    const idle = at('idle');
    const idleGc = at('idle, after gc');
    const after = at(`after ${RELEASES} releases`);
    const afterGc = at(`after ${RELEASES} releases, after gc`);
    const checkpoints = result.samples.filter((s) => s.gc && s.releases > 0);
    const heapSlope = checkpoints.length >= 2 ? (checkpoints.at(-1).heapUsed - checkpoints[0].heapUsed) / (checkpoints.at(-1).releases - checkpoints[0].releases) : NaN;

    return {
      summary: [
        { figure: 'idle RSS: `release-bot serve` vs bare express (MiB)', bot: mib(median(bot)), baseline: mib(median(bare)), ratio: ratio(median(bot), median(bare)) },
        { figure: `RSS after ${RELEASES} releases vs idle, same process (MiB)`, bot: mib(after.rss), baseline: mib(idle.rss), ratio: ratio(after.rss, idle.rss) },
      ],
      tables: [
        {
          caption: `Idle RSS (VmRSS, median of 5 samples ${SETTLE_MS / 1000} s after /healthz first answered; median of ${IDLE_ROUNDS} interleaved start(s))`,
          headers: ['process', 'idle RSS', 'vs bare express'],
          rows: [
            ['`node bin/release-bot.js serve` (config, SQLite store, Conjur client, express)', `${mib(median(bot))} MiB`, ratio(median(bot), median(bare))],
            ['bare express server, one JSON route (baseline)', `${mib(median(bare))} MiB`, '1.00x'],
          ],
        },
        {
          caption: `One serve() process (what \`release-bot serve\` runs) through ${RELEASES} stage + release cycles in-process (distinct versions, 2 directory destinations with credentials from Conjur)`,
          headers: ['when', 'RSS', 'heap used', 'external', 'peak RSS so far'],
          rows: [idle, idleGc, after, afterGc].map((s) => [s.label, `${mib(s.rss)} MiB`, `${mib(s.heapUsed)} MiB`, `${mib(s.external)} MiB`, `${mib(s.hwm)} MiB`]),
        },
        {
          caption: 'Heap used after gc at checkpoints (leak check)',
          headers: ['releases', 'heap used', 'RSS'],
          rows: [idleGc, ...checkpoints].map((s) => [s.releases, `${mib(s.heapUsed)} MiB`, `${mib(s.rss)} MiB`]),
        },
      ],
      notes: [
        `Heap growth between the first and last checkpoint: ${Number.isFinite(heapSlope) ? `${(heapSlope / 1024).toFixed(2)} KiB per release` : 'n/a'}; RSS growth over the run: ${mib(after.rss - idle.rss)} MiB (${mib(afterGc.rss - idleGc.rss)} MiB after gc).`,
        `Stage + release cycle time: median ${ms(median(result.durations))} ms, p99 ${ms(percentile(result.durations, 99))} ms (${(result.totalMs / 1000).toFixed(1)} s for ${RELEASES}).`,
        'The releases run in-process through the release core of a serve() process, not through HTTP: the server has no release route of its own; Slack is the way in over HTTP (see the Slack section).',
      ],
    };
  } finally {
    await conjur.close();
    removeTmpDir(root);
  }
}

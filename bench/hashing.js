// Part 3: artifact hashing. MiB/s of the bot's streamed sha256 against sha256sum on the same file,
// and the peak RSS of a process doing the bot's hashing against its own baseline.
import { readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  interleaved,
  makeTmpDir,
  median,
  mib,
  ms,
  ratio,
  removeTmpDir,
  runNodeJson,
  runProcess,
  runProcessWithPeak,
  SMOKE,
  mibps,
  writeRandomFile,
} from './lib/util.js';

export const id = 'hashing';
export const title = 'Artifact hashing (issue 7, item 3)';

const SIZE = SMOKE ? 16 * 2 ** 20 : 2 ** 30;
const ROUNDS = SMOKE ? 1 : 3;

export async function run({ log }) {
  const dir = makeTmpDir('release-bot-bench-hash-');
  try {
    const file = path.join(dir, 'artifact.bin');
    log(`writing ${mib(SIZE)} MiB of random data to ${file}`);
    writeRandomFile(file, SIZE);
    const size = statSync(file).size;
    const copyTarget = path.join(dir, 'copy.bin');

    const digests = new Set();
    const results = await interleaved(ROUNDS, [
      {
        name: 'sha256sum',
        run: async () => {
          const r = await runProcessWithPeak('sha256sum', [file]);
          digests.add(r.stdout.split(' ')[0]);
          return { ms: r.wallMs, peakRss: r.peakRss };
        },
      },
      {
        name: 'bot',
        run: async () => {
          const r = await runNodeJson('hash-child.js', ['bot', file]);
          digests.add(r.sha256);
          return { ms: r.hashMs, wallMs: r.wallMs, baselineRss: r.baselineRss, peakRss: r.peakRss };
        },
      },
      {
        name: 'openssl',
        run: async () => {
          const r = await runProcessWithPeak('openssl', ['dgst', '-sha256', '-r', file]);
          digests.add(r.stdout.split(' ')[0]);
          return { ms: r.wallMs, peakRss: r.peakRss };
        },
      },
      {
        name: 'cp',
        run: async () => {
          const r = await runProcessWithPeak('cp', [file, copyTarget]);
          rmSync(copyTarget);
          return { ms: r.wallMs, peakRss: r.peakRss };
        },
      },
      {
        name: 'copy',
        run: async () => {
          const r = await runNodeJson('hash-child.js', ['copy', file, copyTarget]);
          rmSync(copyTarget);
          digests.add(r.sha256);
          return { ms: r.hashMs, wallMs: r.wallMs, baselineRss: r.baselineRss, peakRss: r.peakRss };
        },
      },
    ]);
    // Growth that does not follow the file's size is a buffer, not the file: the same hash of a file 1/16 the size.
    const small = path.join(dir, 'small.bin');
    writeRandomFile(small, SIZE / 16);
    const smallRun = await runNodeJson('hash-child.js', ['bot', small]);
    // The contrast: what the memory figure shows when a whole file is read into memory.
    const whole = await runNodeJson('hash-child.js', ['readfile', file]);
    digests.add(whole.sha256);
    if (digests.size !== 1) throw new Error(`the hashes disagree: ${[...digests].join(', ')}`);

    const sha256sumVersion = (await runProcess('sha256sum', ['--version'])).stdout.split('\n')[0];
    const hasShaNi = /\bsha_ni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    const rate = (name) => median(results[name].map((x) => mibps(size, x.ms)));
    const range = (name) => {
      const rates = results[name].map((x) => mibps(size, x.ms));
      return `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`;
    };
    const peak = (name) => Math.max(...results[name].map((x) => x.peakRss));
    const base = (name) => median(results[name].map((x) => x.baselineRss));

    return {
      summary: [
        {
          figure: 'hashing MiB/s: bot sha256File vs sha256sum',
          bot: rate('bot').toFixed(0),
          baseline: rate('sha256sum').toFixed(0),
          ratio: ratio(rate('bot'), rate('sha256sum')),
        },
        {
          figure: 'peak RSS growth while hashing (MiB)',
          bot: mib(peak('bot') - base('bot')),
          baseline: `${mib(base('bot'))} MiB baseline`,
          ratio: '',
        },
      ],
      tables: [
        {
          caption: `Throughput on the same ${mib(size)} MiB file of random data, median of ${ROUNDS} interleaved round(s) (min–max in brackets)`,
          headers: ['what', 'bot', 'baseline', 'bot / baseline'],
          rows: [
            [
              `staging check: \`sha256File\` vs \`sha256sum\``,
              `${rate('bot').toFixed(0)} MiB/s (${range('bot')})`,
              `${rate('sha256sum').toFixed(0)} MiB/s (${range('sha256sum')})`,
              ratio(rate('bot'), rate('sha256sum')),
            ],
            [
              `reference: \`sha256File\` vs \`openssl dgst -sha256\` (OpenSSL, like Node)`,
              `${rate('bot').toFixed(0)} MiB/s`,
              `${rate('openssl').toFixed(0)} MiB/s (${range('openssl')})`,
              ratio(rate('bot'), rate('openssl')),
            ],
            [
              `release copy: \`copyHandleWithSha256\` (copy + hash) vs \`cp\` (copy only)`,
              `${rate('copy').toFixed(0)} MiB/s (${range('copy')})`,
              `${rate('cp').toFixed(0)} MiB/s (${range('cp')})`,
              ratio(rate('copy'), rate('cp')),
            ],
          ],
        },
        {
          caption:
            "Memory of the hashing process: VmRSS after loading the bot's code (baseline) and VmHWM (peak RSS) after hashing, from /proc/self/status; sha256sum and cp sampled from /proc/<pid>/status every 5 ms",
          headers: ['process', 'baseline RSS', 'peak RSS', 'growth while hashing'],
          rows: [
            ['node: bot `sha256File`', `${mib(base('bot'))} MiB`, `${mib(peak('bot'))} MiB`, `${mib(peak('bot') - base('bot'))} MiB`],
            [
              `node: bot \`sha256File\` on a ${mib(SIZE / 16)} MiB file (growth must not follow the size)`,
              `${mib(smallRun.baselineRss)} MiB`,
              `${mib(smallRun.peakRss)} MiB`,
              `${mib(smallRun.peakRss - smallRun.baselineRss)} MiB`,
            ],
            [
              'node: bot `copyHandleWithSha256`',
              `${mib(base('copy'))} MiB`,
              `${mib(peak('copy'))} MiB`,
              `${mib(peak('copy') - base('copy'))} MiB`,
            ],
            [
              'node: whole file read, then hashed (contrast, not bot code)',
              `${mib(whole.baselineRss)} MiB`,
              `${mib(whole.peakRss)} MiB`,
              `${mib(whole.peakRss - whole.baselineRss)} MiB`,
            ],
            ['`sha256sum`', '', `${mib(peak('sha256sum'))} MiB`, ''],
            ['`cp`', '', `${mib(peak('cp'))} MiB`, ''],
          ],
        },
      ],
      notes: [
        `The file is written once (random bytes, fsync'd) and read by every variant; no cache is dropped, so with ${mib(size)} MiB on a machine with far more RAM both read it from the page cache: the figures compare hashing and read paths, not the disk.`,
        `${sha256sumVersion}; Node ${process.version} hashes with OpenSSL ${process.versions.openssl}, which uses the CPU's SHA extensions where present (this CPU ${hasShaNi ? 'has' : 'does not have'} sha_ni), coreutils' sha256sum its own C code.`,
        `Bot times are the hashing call alone inside a fresh node process (node start-up, ~${ms(median(results.bot.map((x) => x.wallMs - x.ms)))} ms here, excluded); sha256sum and cp times are their whole process wall time.`,
      ],
    };
  } finally {
    removeTmpDir(dir);
  }
}

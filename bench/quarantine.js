// Part 7: the quarantine copy at staging (issue 11). Throughput of Quarantine.ingest (walk through
// directory descriptors, copy, hash the copy) next to the hashing floor (`openssl dgst -sha256`) and
// `cp` followed by `sha256sum`, on the same file in the same run, and the peak RSS while staging it.
import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import {
  interleaved,
  makeTmpDir,
  median,
  mib,
  ratio,
  removeTmpDir,
  runNodeJson,
  runProcessWithPeak,
  SMOKE,
  mibps,
  writeRandomFile,
} from './lib/util.js';

export const id = 'quarantine';
export const title = 'Quarantine copy at staging (issue 11)';

const SIZE = SMOKE ? 16 * 2 ** 20 : 2 ** 30;
const ROUNDS = SMOKE ? 1 : 3;
const GOAL = 0.8;

export async function run({ log }) {
  const dir = makeTmpDir('release-bot-bench-quarantine-');
  try {
    const staging = path.join(dir, 'staging');
    const versionDir = path.join(staging, 'big', '1.0.0');
    mkdirSync(versionDir, { recursive: true });
    const file = path.join(versionDir, 'big-1.0.0.iso');
    log(`writing ${mib(SIZE)} MiB of random data to ${file}`);
    writeRandomFile(file, SIZE);
    const size = statSync(file).size;
    const store = path.join(dir, 'quarantine');
    const cpTarget = path.join(dir, 'cp.bin');

    const digests = new Set();
    const results = await interleaved(ROUNDS, [
      {
        name: 'openssl',
        run: async () => {
          const r = await runProcessWithPeak('openssl', ['dgst', '-sha256', '-r', file]);
          digests.add(r.stdout.split(' ')[0]);
          return { ms: r.wallMs };
        },
      },
      {
        name: 'cp+sha256sum',
        run: async () => {
          const r = await runProcessWithPeak('sh', ['-c', 'cp "$1" "$2" && sha256sum "$2"', 'sh', file, cpTarget]);
          digests.add(r.stdout.split(' ')[0]);
          rmSync(cpTarget);
          return { ms: r.wallMs };
        },
      },
      {
        name: 'quarantine',
        run: async () => {
          const r = await runNodeJson('hash-child.js', ['quarantine', staging, 'big', '1.0.0', store]);
          digests.add(r.sha256);
          // The store's trees are read-only (0555): opened up before they are removed.
          await runProcessWithPeak('chmod', ['-R', 'u+w', store]);
          rmSync(store, { recursive: true, force: true });
          return { ms: r.hashMs, baselineRss: r.baselineRss, peakRss: r.peakRss };
        },
      },
    ]);
    if (digests.size !== 1) throw new Error(`the digests disagree: ${[...digests].join(', ')}`);
    const rate = (name) => median(results[name].map((x) => mibps(size, x.ms)));
    const range = (name) => {
      const rates = results[name].map((x) => mibps(size, x.ms));
      return `${Math.min(...rates).toFixed(0)}–${Math.max(...rates).toFixed(0)}`;
    };
    const growth = Math.max(...results.quarantine.map((x) => x.peakRss - x.baselineRss));
    const hasShaNi = /\bsha_ni\b/.test(readFileSync('/proc/cpuinfo', 'utf8'));
    return {
      summary: [
        {
          figure: 'quarantine MiB/s vs openssl dgst -sha256 (floor)',
          bot: rate('quarantine').toFixed(0),
          baseline: rate('openssl').toFixed(0),
          ratio: ratio(rate('quarantine'), rate('openssl')),
        },
        {
          figure: 'quarantine MiB/s vs cp + sha256sum',
          bot: rate('quarantine').toFixed(0),
          baseline: rate('cp+sha256sum').toFixed(0),
          ratio: ratio(rate('quarantine'), rate('cp+sha256sum')),
        },
        { figure: 'peak RSS growth while staging (MiB)', bot: mib(growth), baseline: 'goal < 64', ratio: '' },
      ],
      tables: [
        {
          caption: `The same ${mib(size)} MiB file of random data, median of ${ROUNDS} interleaved round(s) (min–max); goal: at least ${GOAL}x the hashing floor, never slower than cp + sha256sum`,
          headers: ['what', 'MiB/s', 'range', 'vs openssl'],
          rows: [
            ['`openssl dgst -sha256` (hashing floor)', rate('openssl').toFixed(0), range('openssl'), '1.00x'],
            [
              '`cp` then `sha256sum` of the copy',
              rate('cp+sha256sum').toFixed(0),
              range('cp+sha256sum'),
              ratio(rate('cp+sha256sum'), rate('openssl')),
            ],
            [
              'bot: `Quarantine.ingest` (dirfd walk, kernel copy, hash of the copy)',
              rate('quarantine').toFixed(0),
              range('quarantine'),
              ratio(rate('quarantine'), rate('openssl')),
            ],
          ],
        },
      ],
      notes: [
        `Peak RSS growth of the staging process (VmHWM after minus VmRSS before): ${mib(growth)} MiB (two 4 MiB read buffers; page cache is not counted).`,
        `The file is read from the page cache (no cache dropped); the copies are written to the same filesystem. This CPU ${hasShaNi ? 'has' : 'does not have'} sha_ni. Bot times exclude node start-up; openssl and cp + sha256sum are whole process wall times.`,
      ],
    };
  } finally {
    removeTmpDir(dir);
  }
}

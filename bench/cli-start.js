// Part: CLI start-up (issue 14, item 9). Wall time of `release-bot --help` and `release-bot status <project>`
// against `node -e 0` in the same run. A "before" is this part run against a build of the earlier commit
// (the old "every command loaded first" column imported the modules in another order and outside the
// CLI's own start, so it measured neither the old CLI nor the new one: dropped).
// BENCH_CLI_BEFORE=<path to bin/release-bot.js of another build> adds that build's --help and status,
// interleaved in the same rounds (e.g. a copy of main's bin/ and dist/ at the branch point).
import path from 'node:path';
import { botEnv, filesProjectYaml } from './lib/bot.js';
import { interleaved, makeTmpDir, median, ms, ratio, removeTmpDir, repoRoot, runProcess, SMOKE } from './lib/util.js';

export const id = 'cli-start';
export const title = 'CLI start-up (issue 14, item 9)';

const ROUNDS = SMOKE ? 1 : 15;
const bin = path.join(repoRoot, 'bin', 'release-bot.js');
const before = process.env.BENCH_CLI_BEFORE;

export async function run({ log }) {
  const root = makeTmpDir('release-bot-bench-cli-');
  try {
    // status reads the store and the projects file and never calls Conjur: an unreachable URL is fine.
    const env = botEnv(root, { url: 'http://127.0.0.1:9' }, 'k'.repeat(55), filesProjectYaml(root));
    const opts = { env };
    await runProcess(process.execPath, [bin, 'status', 'bench-files'], opts); // creates the database once
    log(`${ROUNDS} interleaved rounds`);
    const timed = (name, args) => ({ name, run: async () => (await runProcess(process.execPath, args, opts)).wallMs });
    const results = await interleaved(ROUNDS, [
      timed('node', ['-e', '0']),
      timed('help', [bin, '--help']),
      timed('status', [bin, 'status', 'bench-files']),
      ...(before ? [timed('help-before', [before, '--help']), timed('status-before', [before, 'status', 'bench-files'])] : []),
    ]);
    const m = (name) => median(results[name]);
    const row = (what, name) => [
      what,
      `${ms(m(name))} ms`,
      `${ms(m('node'))} ms`,
      ratio(m(name), m('node')),
      `${ms(m(name) - m('node'))} ms`,
    ];
    return {
      summary: [
        {
          figure: '`release-bot --help` start-up (ms)',
          bot: ms(m('help')),
          baseline: `${ms(m('node'))} (node -e 0)`,
          ratio: ratio(m('help'), m('node')),
        },
        {
          figure: '`release-bot status <project>` (ms)',
          bot: ms(m('status')),
          baseline: `${ms(m('node'))} (node -e 0)`,
          ratio: ratio(m('status'), m('node')),
        },
      ],
      tables: [
        {
          caption: `Wall time of the whole process, median of ${ROUNDS} interleaved rounds`,
          headers: ['command', 'release-bot', '`node -e 0`', 'release-bot / node', 'release-bot − node'],
          rows: [
            ...(before ? [row('`release-bot --help` (before)', 'help-before')] : []),
            row('`release-bot --help`', 'help'),
            ...(before ? [row('`release-bot status bench-files` (before)', 'status-before')] : []),
            row('`release-bot status bench-files`', 'status'),
          ],
        },
      ],
      notes: [
        'The goal of issue 14 is under 300 ms for both, against `node -e 0` in the same run.',
        "`status` opens the SQLite store and validates the projects file (with every destination type's options); it never calls Conjur.",
      ],
    };
  } finally {
    removeTmpDir(root);
  }
}

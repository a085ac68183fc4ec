// Part: CLI start-up (issue 14, item 9). Wall time of `release-bot --help` and `release-bot status <project>`
// against `node -e 0` in the same run, and against the same commands with every command module loaded
// first (what the CLI did before it loaded a command only when it runs).
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { botEnv, filesProjectYaml } from './lib/bot.js';
import { interleaved, makeTmpDir, median, ms, ratio, removeTmpDir, repoRoot, runProcess, SMOKE } from './lib/util.js';

export const id = 'cli-start';
export const title = 'CLI start-up (issue 14, item 9)';

const ROUNDS = SMOKE ? 1 : 15;
const bin = path.join(repoRoot, 'bin', 'release-bot.js');
const commandsDir = path.join(repoRoot, 'dist', 'handlers', 'cli', 'commands');

/** Loads every command module, then runs the CLI as usual: the cost of the old eager command table. */
function eager(args) {
  const modules = readdirSync(commandsDir)
    .filter((f) => f.endsWith('.js'))
    .map((f) => JSON.stringify(path.join(commandsDir, f)));
  const script = `for (const m of [${modules.join(',')}]) await import(m); process.argv.splice(1, 0, ${JSON.stringify(bin)}); await import(${JSON.stringify(bin)});`;
  return ['--input-type=module', '-e', script, ...args];
}

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
      timed('help-eager', eager(['--help'])),
      timed('status-eager', eager(['status', 'bench-files'])),
    ]);
    const m = (name) => median(results[name]);
    const row = (what, name) => [
      what,
      `${ms(m(name))} ms`,
      `${ms(m('node'))} ms`,
      ratio(m(name), m('node')),
      `${ms(m(`${name}-eager`))} ms`,
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
          headers: ['command', 'now', '`node -e 0`', 'now / node', 'every command loaded first (before)'],
          rows: [row('`release-bot --help`', 'help'), row('`release-bot status bench-files`', 'status')],
        },
      ],
      notes: [
        'The goal of issue 14 is under 300 ms for both. "Before" loads every command module, as the CLI did when its command table imported them all, then runs the same command.',
        "`status` opens the SQLite store and validates the projects file (with every destination type's options); it never calls Conjur.",
      ],
    };
  } finally {
    removeTmpDir(root);
  }
}

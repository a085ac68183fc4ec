import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { runCli } from '../support/cli.js';
import { makeTmpDir } from '../support/tmp.js';

const recorder = fileURLToPath(new URL('../support/record-imports.mjs', import.meta.url));
const requireRecorder = fileURLToPath(new URL('./helpers/record-requires.mjs', import.meta.url));

/**
 * The modules a CLI run loaded, imported or required (its own files relative to the package, packages by
 * name), every file of them (`files`: what inside a package was loaded) and the packages reached through
 * `import` (`imported`; the others were required).
 */
async function modulesLoadedBy(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): Promise<{ code: number; modules: string[]; files: string[]; imported: string[] }> {
  const file = path.join(makeTmpDir().dir, 'imports.txt');
  const result = await runCli(
    args,
    { ...env, RECORD_IMPORTS_TO: file, NODE_OPTIONS: `--no-warnings --import ${requireRecorder} --experimental-loader ${recorder}` },
    cwd,
  );
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
  const name = (url: string) => url.replace(/^.*\/node_modules\/((?:@[^/]+\/)?[^/]+)\/.*$/, '$1').replace(/^.*\/dist\//, '');
  const files = [...new Set(lines.map((l) => l.replace(/^required /, '')))];
  const imported = [...new Set(lines.filter((l) => !l.startsWith('required ')).map(name))];
  return { code: result.code, modules: [...new Set(files.map(name))], files, imported };
}

const heavy = ['@slack/bolt', 'express', 'better-sqlite3', 'execa', 'jsonwebtoken', 'zod', 'yaml'];

/**
 * A command loads what it uses: `--help` names every command without loading one, and `status`
 * reads the store without the HTTP server, Slack or the webhook (issue 14: start-up in ms).
 */
describe('release-bot loads a command only when it runs', () => {
  let bot: BotEnv;
  beforeAll(async () => {
    bot = await startBotEnv(mirrorProject);
  });
  afterAll(async () => bot.close());

  it('--help lists every command and loads none of them', async () => {
    const help = await runCli(['--help'], {});
    for (const name of [
      'serve',
      'stage',
      'publish',
      'status',
      'audit',
      'check-config',
      'ssh-command',
      'doctor',
      'notify',
      'provenance',
      'yank',
      'rollback',
      'gc',
    ])
      expect(help.stdout).toMatch(new RegExp(`^  ${name} `, 'm'));
    const { code, modules } = await modulesLoadedBy(['--help'], {});
    expect(code).toBe(0);
    expect(modules.filter((m) => heavy.includes(m) || m.startsWith('handlers/cli/commands/') || m.startsWith('app/'))).toEqual([]);
  });

  it('--help loads no dotenv even beside a .env, which only a command reads', async () => {
    const dir = makeTmpDir().dir;
    writeFileSync(path.join(dir, '.env'), 'LOG_LEVEL=debug\n');
    const { code, modules } = await modulesLoadedBy(['--help'], {}, dir);
    expect(code).toBe(0);
    expect(modules.filter((m) => ['dotenv', 'pino', 'prom-client', 'zod', 'yaml', 'better-sqlite3'].includes(m))).toEqual([]);
    expect((await modulesLoadedBy(['status', 'conjur-cli'], bot.env, dir)).modules).toContain('dotenv');
  });

  it("a command's own help loads that command only", async () => {
    const { code, modules } = await modulesLoadedBy(['audit', 'verify', '--help'], {});
    expect(code).toBe(0);
    expect(modules.filter((m) => m.startsWith('handlers/cli/commands/'))).toEqual(['handlers/cli/commands/audit.js']);
  });

  it('status answers without Slack, Express or the webhook', async () => {
    const { code, modules } = await modulesLoadedBy(['status', 'conjur-cli'], bot.env);
    expect(code).toBe(0);
    expect(modules).toContain('better-sqlite3');
    expect(
      modules.filter(
        (m) =>
          ['@slack/bolt', 'express', 'jsonwebtoken'].includes(m) || m.startsWith('handlers/slack/') || m.startsWith('handlers/jenkins/'),
      ),
    ).toEqual([]);
  });

  // Everything status needs is the projects file (validated with each destination type's option
  // schema, publishers/<type>/options.ts) and the store: no publisher, no release core, no logger,
  // metrics or Conjur client (issue 14: status in under 300 ms).
  it('status loads the configuration and the store only', async () => {
    const { code, modules } = await modulesLoadedBy(['status', 'conjur-cli'], bot.env);
    expect(code).toBe(0);
    expect(modules).toEqual(expect.arrayContaining(['better-sqlite3', 'zod', 'yaml', 'publishers/destination-types.js']));
    const lightPublisherModule = /^publishers\/(destination-types\.js|[a-z]+\/options\.js|common\/service-url\.js)$/;
    expect(modules.filter((m) => m.startsWith('publishers/') && !lightPublisherModule.test(m))).toEqual([]);
    const notForStatus = (m: string) =>
      ['@slack/bolt', 'express', 'pino', 'prom-client', 'dotenv', 'jsonwebtoken', 'execa'].includes(m) ||
      /^src\/(release\/(core|pipeline|release-pipeline|run-destinations|yank|stage-build)\.js|release\/(stages|destinations)\/)/.test(m) ||
      /^src\/(staging\/(?!image-repository\.js)|provenance|conjur\/client|audit|log\.js|metrics)/.test(m) ||
      m === 'app/create.js';
    expect(modules.filter(notForStatus)).toEqual([]);
  });

  // status loaded zod's ES modules (71 files): the product's zod (src/config/zod.ts) is its CommonJS
  // build, one copy for every schema.
  it('status loads zod once, as CommonJS', async () => {
    const { code, files } = await modulesLoadedBy(['status', 'conjur-cli'], bot.env);
    expect(code).toBe(0);
    const zod = files.filter((f) => f.includes('/node_modules/zod/'));
    expect(zod.length).toBeGreaterThan(0);
    expect(zod.filter((f) => !f.endsWith('.cjs'))).toEqual([]);
  });

  // commander and yaml are CommonJS, which Node 20 loads faster through require than through import.
  it('status requires commander, yaml and zod rather than importing them', async () => {
    const { code, modules, imported } = await modulesLoadedBy(['status', 'conjur-cli'], bot.env);
    expect(code).toBe(0);
    expect(modules).toEqual(expect.arrayContaining(['commander', 'yaml', 'zod']));
    expect(imported.filter((m) => ['commander', 'yaml', 'zod'].includes(m))).toEqual([]);
  });

  it('check-config validates every destination without loading a publisher', async () => {
    const { code, modules } = await modulesLoadedBy(['check-config'], bot.env);
    expect(code).toBe(0);
    expect(modules).toContain('publishers/destination-types.js');
    expect(
      modules.filter(
        (m) => m.startsWith('publishers/') && !/^publishers\/(destination-types|[a-z]+\/options|common\/service-url)\.js$/.test(m),
      ),
    ).toEqual([]);
  });
});

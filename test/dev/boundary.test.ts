import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runCli } from '../support/cli.js';
import { lint } from '../support/lint.js';

/**
 * The development stand-ins (a Conjur that hands out any secret it was given, a Slack that accepts any
 * token) and the demo live in dev/, built into dist-dev/: the product (src/, handlers/, publishers/,
 * built into dist/) can neither import nor start them.
 */
const importsDev = (rel: string) =>
  `import { startConjurStandIn } from '${rel}dev/conjur-stand-in.js';\nimport { a } from '${rel}dist-dev/demo.js';\nexport const x = [startConjurStandIn, a];\n`;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(path.join(dir, e.name)) : [path.join(dir, e.name)],
  );
}

describe('development stand-ins outside the product', () => {
  it.each([
    ['src/release/sneaky.ts', '../../'],
    ['app/create.ts', '../'],
    ['handlers/slack/sneaky.ts', '../../'],
    ['handlers/cli/commands/sneaky.ts', '../../../'],
    ['publishers/sneaky.ts', '../'],
  ])(
    'the boundary lint refuses %s importing dev/ or dist-dev/',
    async (file, rel) => {
      const r = await lint(file, importsDev(rel));
      expect(r.code).toBe(1);
      expect(r.out.match(/no-restricted-imports/g)).toHaveLength(2);
    },
    120_000,
  );

  it('tests may import dev/', async () => {
    const r = await lint('test/conjur/sneaky.test.ts', importsDev('../../'));
    expect(r.out).not.toContain('no-restricted-imports');
    expect(r.code).toBe(0);
  }, 120_000);

  it('the product build holds no stand-in and no demo', () => {
    const built = filesUnder(path.join(repoRoot, 'dist'));
    expect(built.some((f) => f.endsWith(path.join('handlers', 'cli', 'main.js')))).toBe(true);
    expect(built.filter((f) => /(stand-in|demo|verdaccio|websocket-peer|slack-requests)[^/]*\.js$/.test(path.basename(f)))).toEqual([]);
    const withStandIn = built.filter((f) => f.endsWith('.js') && readFileSync(f, 'utf8').includes('DEVELOPMENT STAND-IN'));
    expect(withStandIn).toEqual([]);
    const buildConfig = JSON.parse(readFileSync(path.join(repoRoot, 'tsconfig.build.json'), 'utf8')) as { include: string[] };
    expect(buildConfig.include).not.toContain('dev');
  });

  it('release-bot has no command that starts a stand-in or the demo', async () => {
    for (const command of ['dev', 'demo']) {
      const r = await runCli([command], {});
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/unknown command/);
    }
  });
});

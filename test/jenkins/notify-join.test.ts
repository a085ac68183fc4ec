import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
// @ts-expect-error: a build script in plain JavaScript, without declarations
import { joinNotify } from '../../scripts/notify-single-file.mjs';
import { makeTmpDir } from '../support/tmp.js';

const join = joinNotify as (dist: string) => string;

/** A compiled notify (dist/handlers/cli/notify/*.mjs) with these modules. */
const made: { cleanup(): void }[] = [];
afterAll(() => made.forEach((t) => t.cleanup()));

function distWith(modules: Record<string, string>): string {
  const tmp = makeTmpDir('release-bot-notify-join-');
  made.push(tmp);
  const dir = path.join(tmp.dir, 'handlers', 'cli', 'notify');
  mkdirSync(dir, { recursive: true });
  for (const [name, code] of Object.entries(modules)) writeFileSync(path.join(dir, name), code);
  return tmp.dir;
}

/**
 * The single-file notify is joined from its modules by scripts/notify-single-file.mjs (`npm run build`).
 * The join parses every module and refuses what it cannot keep equal, rather than emit a file that
 * would behave otherwise than its modules (test/jenkins/notify-single-file.test.ts runs the real one).
 */
describe('joining the single-file notify', () => {
  it("keeps each module's declarations once, dependencies first, and merges the node: imports", () => {
    const dist = distWith({
      'main.mjs': `#!/usr/bin/env node\n/** the entry */\nimport { createHash } from 'node:crypto';\nimport { twice } from './math.mjs';\nexport { twice } from './math.mjs';\nexport const x = twice(createHash('sha256').digest().length);\n`,
      'math.mjs': `import { createHmac, createHash } from 'node:crypto';\nexport function twice(n) { return 2 * n; }\nexport const h = [createHmac, createHash];\n`,
    });
    const joined = readFileSync(join(dist), 'utf8');
    expect(joined.startsWith('#!/usr/bin/env node\n/** the entry */\n')).toBe(true);
    expect(joined.match(/^import .*$/gm)).toEqual(["import { createHash, createHmac } from 'node:crypto';"]);
    expect(joined.indexOf('export function twice')).toBeLessThan(joined.indexOf('export const x'));
    expect(joined).not.toContain('./math.mjs');
  });

  it.each([
    [
      'an import that is not node:',
      { 'main.mjs': `import { Command } from 'commander';\nexport const c = Command;\n` },
      /only node: imports/,
    ],
    [
      'two declarations of one name',
      {
        'main.mjs': `import { a } from './a.mjs';\nconst b = 1;\nexport const c = [a, b];\n`,
        'a.mjs': `const b = 2;\nexport const a = b;\n`,
      },
      /b is declared in/,
    ],
    [
      'a sibling imported under another name',
      { 'main.mjs': `import { a as z } from './a.mjs';\nexport const c = z;\n`, 'a.mjs': `export const a = 1;\n` },
      /under another name/,
    ],
    [
      'a cycle',
      {
        'main.mjs': `import { a } from './a.mjs';\nexport const m = a;\n`,
        'a.mjs': `import { m } from './main.mjs';\nexport const a = () => m;\n`,
      },
      /cycle/,
    ],
  ])('refuses %s', (_what, modules, message) => {
    expect(() => join(distWith(modules))).toThrow(message);
  });
});

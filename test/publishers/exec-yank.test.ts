import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import type { YankContext } from '../../src/publishing/types.js';
import { execPublisher } from '../../publishers/exec.js';
import { expectOnlyOwnEnv, PARENT_CANARIES, setParentEnv, spyOnTools, type ToolSpy } from '../support/child-env.js';
import { makeTmpDir } from '../support/tmp.js';
import { everything, yankContext } from './helpers/yank-context.js';

const TOKEN = 'exec-yank-canary/5c+1=d e';
const tmp = makeTmpDir('release-bot-exec-yank-');
let spy: ToolSpy;
let restore: () => void;
let script: string;
let n = 0;

beforeAll(() => {
  // A yank script as an operator writes one: idempotent through its own state file, exit 10 when already done.
  script = path.join(tmp.dir, 'yank-script.real');
  writeFileSync(
    script,
    [
      '#!/bin/sh',
      'state="$STATE_DIR/yanked-$1-$2"',
      'if [ "$2" = "9.9.9" ]; then echo "mirror refused: token $DEPLOY_TOKEN" >&2; exit 1; fi',
      'if [ -e "$state" ]; then echo "$1 $2 was already yanked"; exit 10; fi',
      'printf "%s" "$YANK_REASON" > "$state"',
      'echo "yanked $1 $2 (previous ${YANK_PREVIOUS_VERSION:-none}) with token $DEPLOY_TOKEN from $(cat "$DEPLOY_TOKEN_FILE")"',
      '',
    ].join('\n'),
  );
  chmodSync(script, 0o755);
  spy = spyOnTools(tmp.dir, { 'yank-script': { real: script } });
  restore = setParentEnv({ ...PARENT_CANARIES, PATH: `${spy.bin}:${process.env.PATH}` });
});
afterAll(() => {
  restore();
  tmp.cleanup();
});

const opts = (extra: Record<string, unknown> = {}) =>
  execPublisher.options.parse({
    command: ['/bin/true'],
    env: { STATE_DIR: tmp.dir },
    yank_command: [path.join(spy.bin, 'yank-script'), '{project}', '{version}'],
    ...extra,
  });
const context = (overrides: Partial<YankContext> = {}) =>
  yankContext(path.join(tmp.dir, `ctx-${(n += 1)}`), {
    published: { version: '4.2.0', artifact: { kind: 'files', files: [] } },
    previous: { version: '4.1.0', artifact: { kind: 'files', files: [] } },
    credentials: { DEPLOY_TOKEN: TOKEN },
    ...overrides,
  });

test("runs yank_command without a shell, with the reason, the versions and the destination's credentials only; a second yank is already-yanked (exit 10)", async () => {
  const reason = 'broken $(touch pwned) `id`; rm -rf "$HOME"';
  const ctx = context({ reason });
  const result = await execPublisher.yank!(ctx, opts());
  expect(result).toEqual({ status: 'yanked', detail: 'yanked conjur-cli 4.2.0 (previous 4.1.0) with token [REDACTED] from [REDACTED]' });
  // The reason is data: written as is by the script, never run.
  expect(readFileSync(path.join(tmp.dir, 'yanked-conjur-cli-4.2.0'), 'utf8')).toBe(reason);
  expect(existsSync(path.join(ctx.tmpDir, 'pwned'))).toBe(false);

  const call = spy.calls('yank-script').at(-1)!;
  expect(call.argv).toEqual(['conjur-cli', '4.2.0']);
  const file = call.env.DEPLOY_TOKEN_FILE ?? '';
  expect(path.dirname(path.dirname(file))).toBe(ctx.tmpDir);
  expectOnlyOwnEnv(call, {
    STATE_DIR: tmp.dir,
    DEPLOY_TOKEN: TOKEN,
    DEPLOY_TOKEN_FILE: file,
    YANK_PROJECT: 'conjur-cli',
    YANK_VERSION: '4.2.0',
    YANK_REASON: reason,
    YANK_PREVIOUS_VERSION: '4.1.0',
  });
  // The credential file lives only while the script runs.
  expect(existsSync(file)).toBe(false);
  expect(everything(ctx, result)).not.toContain(TOKEN);

  await expect(execPublisher.yank!(context({ reason }), opts())).resolves.toEqual({
    status: 'already-yanked',
    detail: 'conjur-cli 4.2.0 was already yanked',
  });
});

test('no yank_command: cannot-yank, with what to do', async () => {
  await expect(execPublisher.yank!(context(), execPublisher.options.parse({ command: ['/bin/true'] }))).resolves.toMatchObject({
    status: 'cannot-yank',
    detail: expect.stringContaining('add a yank_command'),
  });
});

test('dry run: planned, the script is not run', async () => {
  const before = spy.calls('yank-script').length;
  const result = await execPublisher.yank!(
    context({ published: { version: '4.3.0', artifact: { kind: 'files', files: [] } }, dryRun: true }),
    opts(),
  );
  expect(result).toEqual({
    status: 'planned',
    detail: `would run ${path.join(spy.bin, 'yank-script')}`,
    actions: [`run ${path.join(spy.bin, 'yank-script')} conjur-cli 4.3.0`],
  });
  expect(spy.calls('yank-script').length).toBe(before);
  expect(existsSync(path.join(tmp.dir, 'yanked-conjur-cli-4.3.0'))).toBe(false);
});

test('a failing script is an EXEC_FAILED error whose output carries no credential', async () => {
  const ctx = context({ published: { version: '9.9.9', artifact: { kind: 'files', files: [] } } });
  const err = await execPublisher.yank!(ctx, opts()).catch((e: unknown) => e);
  expect(err).toMatchObject({ code: ErrorCode.ExecFailed });
  expect(everything(ctx, err)).toContain('mirror refused');
  expect(everything(ctx, err)).not.toContain(TOKEN);
});

test('options: yank_command is an argv array with {project} and {version} only', () => {
  expect(execPublisher.options.safeParse({ command: ['/bin/true'], yank_command: '/opt/yank {version}' }).success).toBe(false);
  expect(execPublisher.options.safeParse({ command: ['/bin/true'], yank_command: [] }).success).toBe(false);
  expect(execPublisher.options.safeParse({ command: ['/bin/true'], yank_command: ['/opt/yank', '{dir}'] }).success).toBe(false);
  expect(execPublisher.options.safeParse({ command: ['/bin/true'], yank_command: ['/opt/yank', '{project}', '{version}'] }).success).toBe(
    true,
  );
});

import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { runCommand } from '../../src/exec.js';
import { expectOnlyOwnEnv, PARENT_CANARIES, setParentEnv, spyOnTools } from '../support/child-env.js';
import { requireBinary } from '../support/require-binary.js';
import { makeTmpDir } from '../support/tmp.js';

// The publisher env tests (npm, gem, skopeo, ssh/scp) are only worth something if the spy catches a
// leak: these show it does, through either way a child inherits the parent's environment.
const tmp = makeTmpDir('release-bot-env-spy-');
let restore: () => void;
let spy: ReturnType<typeof spyOnTools>;

beforeAll(() => {
  spy = spyOnTools(tmp.dir, { printenv: { real: requireBinary('printenv', 'coreutils'), note: 'echo "args: $*"' } });
  restore = setParentEnv({ ...PARENT_CANARIES, PATH: `${spy.bin}:${process.env.PATH}` });
});
afterAll(() => {
  restore();
  tmp.cleanup();
});

test('a child spawned without env (the real environment) or with a copy of process.env is caught', () => {
  execFileSync('printenv', ['PATH'], { stdio: 'ignore' });
  execFileSync('printenv', ['HOME'], { env: { ...process.env }, stdio: 'ignore' });
  const [bare, copied] = spy.calls('printenv');
  expect(bare?.env.CONJUR_AUTHN_API_KEY).toBe(PARENT_CANARIES.CONJUR_AUTHN_API_KEY);
  expect(copied?.env.SLACK_BOT_TOKEN).toBe(PARENT_CANARIES.SLACK_BOT_TOKEN);
  expect(copied?.note).toBe('args: HOME\n');
  expect(() => expectOnlyOwnEnv(bare!)).toThrow();
  expect(() => expectOnlyOwnEnv(copied!)).toThrow();
});

test('runCommand, the one child-process wrapper, passes the check with exactly its extra variables', async () => {
  await runCommand('printenv', ['TOOL_SETTING'], { env: { TOOL_SETTING: 'x' }, cwd: tmp.dir, timeoutMs: 10_000, redact: (t) => t });
  const call = spy.calls('printenv').find((c) => c.argv[0] === 'TOOL_SETTING');
  expect(call?.env.HOME).toBe(tmp.dir);
  expectOnlyOwnEnv(call!, { TOOL_SETTING: 'x' });
  expect(() => expectOnlyOwnEnv(call!, {})).toThrow();
  expect(path.dirname(call?.env.PATH?.split(':')[0] ?? '')).toBe(tmp.dir);
});

import { runCli } from '../support/cli.js';

describe('ssh-command --environment-file', () => {
  it('names a missing file and exits 78, from release-bot itself (not from node: no --env-file)', async () => {
    const r = await runCli(['ssh-command', '--as', 'alice', '--environment-file', '/nonexistent/release-bot.env'], {
      SSH_ORIGINAL_COMMAND: 'status conjur-cli',
    });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('--environment-file /nonexistent/release-bot.env cannot be read (ENOENT)');
    expect(r.stderr).not.toContain('node:');
  });
});

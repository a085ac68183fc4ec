import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, runCli } from '../support/cli.js';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

/** What an operator quotes when asking for help: the installed version, from any command. */
describe('release-bot --version', () => {
  it.each([
    [['--version']],
    [['-V']],
    [['serve', '--version']],
    [['publish', '--version']],
    [['audit', 'verify', '--version']],
    [['check-config', '-V']],
    [['notify', '-V']],
    [['audit', 'list', '-V']],
  ])('release-bot %j prints the package version and exits 0', async (args) => {
    const result = await runCli(args, {});
    expect(result).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  it('keeps notify --version <v> as the version reported', async () => {
    const result = await runCli(['notify', '--version'], {});
    expect(result.code).toBe(64);
    expect(result.stderr).toContain("option '--version <v>' argument missing");
    // The value reaches notify: it goes on to the secret it needs, instead of printing a version.
    const reported = await runCli(['notify', '--url', 'http://127.0.0.1:9', '--project', 'conjur-cli', '--version', '1.2.3', 'x.gem'], {});
    expect(reported.code).toBe(78);
    expect(reported.stderr).toMatch(/JENKINS_JWT_SECRET is not set/);
  });
});

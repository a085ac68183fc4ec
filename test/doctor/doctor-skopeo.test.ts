import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { project } from '../support/projects-file.js';
import { runCli } from '../support/cli.js';
import { requireBinary } from '../support/require-binary.js';

/** doctor on a machine with a docker project: the skopeo it finds must be new enough for the bot's flags. */
describe('release-bot doctor: the skopeo version', () => {
  let bot: BotEnv;

  beforeAll(async () => {
    bot = await startBotEnv(() => ({
      'conjur-img': project('conjur-img', [{ name: 'script', type: 'exec', command: ['/bin/true'] }], {
        authorized_group: 'release/conjur-cli',
        artifact: 'docker',
        image: { repository: '127.0.0.1:5000/builds/conjur-img', tls_verify: false },
      }),
    }));
  });

  afterAll(async () => {
    await bot.close();
  });

  /** A PATH directory holding `skopeo`: a link to the real one, or a script printing `version`. */
  function binWith(name: string, version?: string): string {
    const dir = path.join(bot.dir, `bin-${name}`);
    mkdirSync(dir, { recursive: true });
    if (version === undefined) symlinkSync(requireBinary('skopeo', 'skopeo'), path.join(dir, 'skopeo'));
    else {
      writeFileSync(path.join(dir, 'skopeo'), `#!/bin/sh\necho '${version}'\n`);
      chmodSync(path.join(dir, 'skopeo'), 0o755);
    }
    return dir;
  }

  it('names a skopeo older than 1.6.0 as a problem, with what to install', async () => {
    const bin = binWith('old', 'skopeo version 1.4.1');
    const r = await runCli(['doctor'], { ...bot.env, PATH: `${bin}:/usr/bin:/bin` });
    expect(r.stdout).toContain(
      `  FAIL  tool skopeo (docker staging): ${bin}/skopeo: skopeo 1.4.1 is too old: release-bot needs skopeo 1.6.0 or newer (for copy --preserve-digests); install skopeo 1.6.0 or newer (Debian 12 ships 1.9.3: apt-get install skopeo;`,
    );
    expect(r.stdout).toMatch(/\[CONFIG_INVALID\]$/m);
    expect(r.code).toBe(1);
  });

  it('shows the version of a skopeo that is new enough', async () => {
    const bin = binWith('real');
    const r = await runCli(['doctor', '--json'], { ...bot.env, PATH: `${bin}:/usr/bin:/bin` });
    const checks = JSON.parse(r.stdout) as { ok: boolean; name: string; detail: string }[];
    expect(checks.find((c) => c.name === 'tool skopeo (docker staging)')).toEqual({
      ok: true,
      name: 'tool skopeo (docker staging)',
      detail: expect.stringMatching(new RegExp(`^${bin}/skopeo \\(skopeo \\d+\\.\\d+\\.\\d+; 1\\.6\\.0 or newer needed\\)$`)),
    });
  });
});

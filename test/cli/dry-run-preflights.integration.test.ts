import { existsSync } from 'node:fs';
import path from 'node:path';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';

const TOKEN = 'dry-run-canary-7c2e9a41b5';

/**
 * `--dry-run` runs what a release runs before it publishes (authorization, the staged build, the
 * credential fetch, every preflight): whatever refuses a release refuses its dry run, with the same
 * code and exit status, and a dry run that passes is one the release would get past those checks.
 */
describe('release-bot publish --dry-run: the same preflights as a release', () => {
  let bot: BotEnv;
  const published = () => existsSync(path.join(bot.dir, 'mirror', 'conjur-cli', '1.0.0'));

  beforeAll(async () => {
    // Declared, but only alice may read it: the bot's credential fetch is refused (403).
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: TOKEN, readers: ['user:alice'] } },
    });
    bot.stageFiles('conjur-cli', '1.0.0', { 'conjur-cli-1.0.0.gem': 'gem bytes' });
    expect((await bot.cli('stage', 'conjur-cli', '1.0.0')).code).toBe(0);
  });

  afterAll(async () => {
    await bot.close();
  });

  it.each([
    ['a requester outside the authorized group', 'bob', /bob is not a member of the Conjur group release\/conjur-cli.*\[NOT_AUTHORIZED\]/],
    ['a credential the bot may not read', 'alice', /release\/mirror\/token.*\[CONJUR_FORBIDDEN\]|CONJUR_FORBIDDEN/],
  ])('%s: the dry run is refused as the release is, and nothing is published', async (_what, as, refusal) => {
    const dry = await bot.cli('publish', 'conjur-cli', '1.0.0', '--as', as, '--dry-run');
    const real = await bot.cli('publish', 'conjur-cli', '1.0.0', '--as', as);
    expect(dry.stdout + dry.stderr).toMatch(refusal);
    expect(real.stdout + real.stderr).toMatch(refusal);
    expect(dry.code).not.toBe(0);
    expect(dry.code).toBe(real.code);
    expect(published()).toBe(false);
    for (const r of [dry, real]) expect(r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('passes once the release would: the credential readable, then plans without publishing', async () => {
    bot.conjur.setVariable('release/mirror/token', TOKEN, ['host:release-bot']);
    const dry = await bot.cli('publish', 'conjur-cli', '1.0.0', '--as', 'alice', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/^Dry run of conjur-cli 1\.0\.0 \(dry-run\)/);
    expect(published()).toBe(false);
    // The dry run fetched the credential as the release does (one batch read).
    expect(bot.conjur.requests.filter((q) => q.path === '/secrets').at(-1)?.status).toBe(200);
    expect(dry.stdout + dry.stderr).not.toContain(TOKEN);
  });
});

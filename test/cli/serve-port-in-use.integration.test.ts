import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';

/**
 * `serve` on a port something else holds: one line naming the port and host, exit 78 (EX_CONFIG, so
 * systemd's Restart=on-failure does not loop on it), and no database created in a fresh data dir.
 */
describe('release-bot serve on a port already in use', () => {
  let bot: BotEnv;
  let holder: Server;
  let port: number;

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir));
    holder = createServer();
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', () => resolve()));
    port = (holder.address() as { port: number }).port;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => holder.close(() => resolve()));
    await bot.close();
  });

  it('says so in one line, exits 78 and writes no database', async () => {
    const dataDir = path.join(bot.dir, 'fresh-data');
    const { runCli } = await import('../support/cli.js');
    const result = await runCli(['serve'], { ...bot.env, HOST: '127.0.0.1', PORT: String(port), RELEASE_BOT_DATA_DIR: dataDir });
    expect(result.code).toBe(78);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`port ${port} on 127.0.0.1 is already in use`);
    expect(lines[0]).toContain('[CONFIG_INVALID]');
    expect(existsSync(dataDir)).toBe(false);
  });
});

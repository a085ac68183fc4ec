import { existsSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { sendSlackRequest, slashCommand } from '../../dev/slack-requests.js';
import { startSlackStandIn, type SlackStandIn } from '../../dev/slack-stand-in.js';
import { mirrorProject, startBotEnv, type BotEnv } from '../audit/bot-env.js';
import { spawnServe, waitFor, type ServeProcess } from '../support/serve-process.js';
import { stopChild } from '../support/stop-child.js';

const SIGNING_SECRET = 'signing-secret-thread-death-4e7a1c9b';
const BOT_TOKEN = 'xoxb-thread-death-000000000-bot-token';
const MIRROR_TOKEN = 'mirror-token-canary-thread-death-8d3f';
/** sysexits.h EX_SOFTWARE: what serve exits with when its release thread died, for systemd's Restart=on-failure. */
const EX_SOFTWARE = 70;

/**
 * A response_url that holds every post until the test lets it go: while serve's answer to the person
 * is on its way, serve is still up, so the test can ask /readyz without racing the exit.
 */
async function holdingResponseUrl(): Promise<{ url: string; bodies: string[]; release(): void; close(): Promise<void> }> {
  const bodies: string[] = [];
  const held: ServerResponse[] = [];
  let released = false;
  const answer = (res: ServerResponse) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"ok":true}');
  const server: Server = createServer((req: IncomingMessage, res) => {
    let body = '';
    req.on('data', (d) => (body += String(d)));
    req.on('end', () => {
      bodies.push(body);
      if (released) answer(res);
      else held.push(res);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/response/thread-death`,
    bodies,
    release() {
      released = true;
      for (const res of held.splice(0)) answer(res);
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

async function readyz(port: number): Promise<{ status: number; failing: string[] } | undefined> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
  if (!res) return undefined;
  const body = (await res.json()) as { failing?: string[] };
  return { status: res.status, failing: body.failing ?? [] };
}

/**
 * The release thread of `release-bot serve` (app/release-thread.ts) dies: an error nothing catches
 * (here thrown by a test worker at its first release), or the thread out of memory. A serve left up
 * without it refuses every release while /readyz says ready, and systemd never restarts it. It must
 * say so (one log line), go unready, refuse the release in flight with a coded error, and exit 70.
 */
describe('release-bot serve: a release thread that dies stops serve', () => {
  let bot: BotEnv;
  let slack: SlackStandIn;
  let respond: Awaited<ReturnType<typeof holdingResponseUrl>>;
  let serve: ServeProcess | undefined;

  beforeAll(async () => {
    bot = await startBotEnv((dir) => mirrorProject(dir), {
      variables: { 'release/mirror/token': { value: MIRROR_TOKEN, readers: ['host:release-bot'] } },
    });
    slack = await startSlackStandIn({ token: BOT_TOKEN, users: [{ id: 'U024BE7LH', name: 'alice' }] });
    respond = await holdingResponseUrl();
  });

  afterAll(async () => {
    respond.release();
    if (serve) await stopChild(serve.child);
    await respond.close();
    await slack.close();
    await bot.close();
  });

  it('goes unready, refuses the release in flight with a coded error, publishes nothing and exits 70', async () => {
    bot.stageFiles('conjur-cli', '5.1.0', { 'conjur-cli-5.1.0.gem': 'gem bytes 5.1.0' });
    expect((await bot.cli('stage', 'conjur-cli', '5.1.0', '--build-number', '51')).code).toBe(0);
    serve = await spawnServe(
      bot.env,
      { signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN, apiUrl: slack.apiUrl },
      { script: 'test/cli/helpers/serve-with-dying-thread.mjs' },
    );
    const { port, output, exited } = serve;
    await waitFor('serve to be ready', async () => (await readyz(port))?.status === 200);

    const ask = await sendSlackRequest(
      `http://127.0.0.1:${port}/slack/events`,
      slashCommand({ text: 'conjur-cli 5.1.0', response_url: respond.url }),
      { signingSecret: SIGNING_SECRET },
    );
    expect(ask.status).toBe(200);
    // The person is told, with the error's code, that the release did not run (the post is held: serve is still up).
    await waitFor('the answer to the release in flight', () =>
      respond.bodies.some((b) => b.includes('release thread of release-bot stopped unexpectedly') && b.includes('INTERNAL')),
    );
    // Serve no longer says it can do its job: a load balancer or monitor sees it before it exits.
    await waitFor('/readyz to go unready', async () => {
      const r = await readyz(port);
      return r?.status === 503 && r.failing.includes('release-thread');
    });

    respond.release();
    expect(await exited).toBe(EX_SOFTWARE);
    // One line says why (the thread's last word), and it is an error.
    const lines = output()
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as { level: number; msg: string; reason?: string; exitCode?: number });
    const died = lines.filter((line) => line.msg.startsWith('the release thread died'));
    expect(died).toHaveLength(1);
    expect(died[0]).toMatchObject({ level: 50, exitCode: EX_SOFTWARE, reason: 'the release thread was made to die by the test' });
    // Nothing was published, and no credential left.
    expect(existsSync(path.join(bot.dir, 'mirror/conjur-cli/5.1.0'))).toBe(false);
    expect(output()).not.toContain(MIRROR_TOKEN);
    expect(respond.bodies.join('\n')).not.toContain(MIRROR_TOKEN);
  }, 180_000);
});

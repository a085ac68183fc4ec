import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import path from 'node:path';
import { makeTmpDir } from '../support/tmp.js';
import { notifyForms } from './helpers/notify-forms.js';
import { HS_SECRET } from './helpers/tokens.js';

type Answer = (req: IncomingMessage, res: ServerResponse) => void;

/** A loopback bot that answers each request with the next of `answers` and records the tokens' jti. */
async function fakeBot(answers: Answer[]): Promise<{ url: string; jtis: string[]; server: Server }> {
  const jtis: string[] = [];
  const server = createServer((req, res) => {
    const token = (req.headers.authorization ?? '').replace(/^Bearer /, '');
    jtis.push((JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8')) as { jti: string }).jti);
    req.resume();
    req.once('end', () => (answers[jtis.length - 1] ?? (answers[answers.length - 1] as Answer))(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, jtis, server };
}

const reset: Answer = (req) => req.socket.destroy();
const json =
  (status: number, body: object): Answer =>
  (_req, res) =>
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
const staged = json(202, { status: 'staged', project: 'conjur-cli', version: '1.0.0', digests: { files: [] } });

/**
 * A report is idempotent, so `notify` tries again after a connection reset or a 5xx (with a fresh
 * single-use token each time), and takes a 4xx as final.
 */
describe.each(notifyForms)('$name retries a report', ({ run }) => {
  const tmp = makeTmpDir();
  const file = path.join(tmp.dir, 'conjur-cli-1.0.0.gem');
  writeFileSync(file, 'gem bytes');
  const servers: Server[] = [];
  const notify = async (answers: Answer[], extra: string[] = []) => {
    const bot = await fakeBot(answers);
    servers.push(bot.server);
    const result = await run(['--url', bot.url, '--project', 'conjur-cli', '--version', '1.0.0', ...extra, file], {
      JENKINS_JWT_SECRET: HS_SECRET,
    });
    return { ...result, jtis: bot.jtis };
  };

  afterAll(async () => {
    for (const server of servers) await new Promise<void>((resolve) => server.close(() => resolve()));
    tmp.cleanup();
  });

  it('after a connection reset and a 503, until the bot stages it', async () => {
    const result = await notify([reset, json(503, { error: 'busy' }), staged]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('staged: conjur-cli 1.0.0\n');
    expect(result.jtis).toHaveLength(3);
    expect(new Set(result.jtis).size).toBe(3);
    expect(result.stderr).toMatch(/trying again in 1 s \(1 of 4 retries\)/);
    expect(result.stderr).toMatch(/HTTP 503 from http:\/\/127\.0\.0\.1:\d+; trying again in 2 s \(2 of 4 retries\)/);
  });

  it("not after a 4xx: the bot's answer is final", async () => {
    const result = await notify([json(409, { error: 'conflicts with a released build' }), staged]);
    expect(result.code).toBe(1);
    expect(result.jtis).toHaveLength(1);
    expect(result.stderr).toContain('release-bot: HTTP 409: conflicts with a released build');
  });

  it('gives up after --retries, with the last answer', async () => {
    const result = await notify([json(502, { error: 'bad gateway' })], ['--retries', '1']);
    expect(result.code).toBe(1);
    expect(result.jtis).toHaveLength(2);
    expect(result.stderr).toContain('release-bot: HTTP 502: bad gateway');
  });
});

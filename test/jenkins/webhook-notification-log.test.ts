import { createHash } from 'node:crypto';
import net from 'node:net';
import { MAX_NOTIFICATION_BYTES } from '../../handlers/jenkins/router.js';
import { startBot, URL_TOKENS, type Bot } from './helpers/bot.js';
import { notificationWithLog } from './helpers/notification-log.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/**
 * Sends only the head of a request (its Content-Length announcing `announced` bytes) and `sent` body
 * bytes, on a fresh connection, and returns the answer: what the bot says before it has read a body.
 */
function partialPost(url: string, route: string, announced: number, sent: Buffer): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let data = '';
    const done = () => {
      const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n([^]*)$/.exec(data);
      if (!m) return false;
      const length = Number(/\r\ncontent-length: (\d+)/i.exec(data)?.[1] ?? NaN);
      if ((m[2] as string).length < length) return false;
      socket.destroy();
      resolve({ status: Number(m[1]), body: m[2] as string });
      return true;
    };
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => {
      data += chunk;
      done();
    });
    socket.on('error', reject);
    socket.on('close', () => done() || reject(new Error(`connection closed without a full answer: ${JSON.stringify(data.slice(0, 200))}`)));
    socket.write(
      `POST ${route} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/json;charset=UTF-8\r\nContent-Length: ${announced}\r\n\r\n`,
    );
    socket.write(sent);
  });
}

describe('the Notification plugin with "log lines" (POST /webhooks/jenkins/<token>, build.log dropped as it is read)', () => {
  let bot: Bot;
  const route = `/webhooks/jenkins/${URL_TOKENS['conjur-cli']}`;
  beforeAll(async () => {
    bot = await startBot();
  }, 30_000);
  afterAll(() => bot.stop());

  it('stages a real-shaped plugin report whose log makes it larger than 1 MB', async () => {
    bot.stageFiles('conjur-cli', '20.0.0', { 'conjur-cli-20.0.0.gem': 'twenty' });
    const raw = notificationWithLog('20.0.0', 3 * 1024 * 1024);
    expect(raw.length).toBeGreaterThan(3 * 1024 * 1024);
    const r = await bot.post(route, raw, { 'content-type': 'application/json;charset=UTF-8' });
    expect(r.status).toBe(202);
    expect(r.json).toMatchObject({
      status: 'staged',
      project: 'conjur-cli',
      version: '20.0.0',
      digests: { files: [{ path: 'conjur-cli-20.0.0.gem', sha256: sha('twenty') }] },
    });
    expect(bot.running.app.staged.current('conjur-cli', '20.0.0')).toMatchObject({
      reportedBy: 'jenkins:conjur-cli (url-token)',
      build: { number: 123 },
    });
  }, 30_000);

  it('refuses a report that is larger than 1 MB without its log (413), reading it to the end so the answer arrives', async () => {
    bot.stageFiles('conjur-cli', '20.1.0', { 'conjur-cli-20.1.0.gem': 'twenty one' });
    const raw = notificationWithLog('20.1.0', 100, { notes: 'n'.repeat(1536 * 1024) });
    const r = await bot.post(route, raw);
    expect(r.status).toBe(413);
    expect(r.json.error).toMatch(/without build\.log is larger than 1048576 bytes/);
    expect(bot.running.app.staged.current('conjur-cli', '20.1.0')).toBeUndefined();
  }, 30_000);

  it('answers before reading the body: an unknown token (401), a body announced past the limit (413)', async () => {
    const head = notificationWithLog('20.2.0', 10).subarray(0, 200);
    const unknown = await partialPost(bot.url, `/webhooks/jenkins/${'z'.repeat(40)}`, 5 * 1024 * 1024, head);
    expect(unknown.status).toBe(401);
    const tooLong = await partialPost(bot.url, route, MAX_NOTIFICATION_BYTES + 1, head);
    expect(tooLong.status).toBe(413);
    expect(JSON.parse(tooLong.body)).toMatchObject({ error: expect.stringMatching(/lower the endpoint's "log lines"/) });
    expect(bot.running.app.staged.current('conjur-cli', '20.2.0')).toBeUndefined();
  }, 30_000);

  it('still limits signed routes to 1 MB (their signature covers the raw bytes)', async () => {
    const r = await bot.post('/webhooks/jenkins', notificationWithLog('20.3.0', 2 * 1024 * 1024), { authorization: 'Bearer x.y.z' });
    expect(r.status).toBe(413);
  }, 30_000);
});

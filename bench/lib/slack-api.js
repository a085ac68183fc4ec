// A loopback stand-in for the Slack Web API (and for response_url), for the Slack ack bench: answers
// every method with ok and counts calls. The bot reaches it through SLACK_API_URL.
import http from 'node:http';
import { URLSearchParams } from 'node:url';

export async function startSlackApi() {
  const calls = new Map();
  let ts = 1_700_000_000;
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const method = (req.url ?? '/').split('?')[0].replace(/^\/api\//, '');
      calls.set(method, (calls.get(method) ?? 0) + 1);
      const params = parseBody(req.headers['content-type'] ?? '', Buffer.concat(chunks).toString('utf8'));
      const next = `${(ts += 1)}.000100`;
      const answers = {
        'auth.test': {
          user_id: 'UBOT',
          bot_id: 'BBOT',
          team_id: 'T0DEVTEAM',
          team: 'bench',
          user: 'release-bot',
          url: 'https://bench.slack.example/',
        },
        'chat.postMessage': { channel: params.channel ?? 'C0BENCH', ts: next, message: { ts: next, text: params.text ?? '' } },
        'chat.update': { channel: params.channel ?? 'C0BENCH', ts: params.ts ?? next },
        'chat.postEphemeral': { message_ts: next },
        'users.info': {
          user: {
            id: params.user ?? 'U0',
            team_id: 'T0DEVTEAM',
            name: 'alice',
            deleted: false,
            is_bot: false,
            is_restricted: false,
            is_ultra_restricted: false,
            profile: { email: 'alice@example.com' },
          },
        },
      };
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ ok: true, ...(answers[method] ?? {}) }));
    });
  });
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address();
  return {
    /** The Web API base URL (SLACK_API_URL): methods are <url><method>. */
    url: `http://127.0.0.1:${port}/api/`,
    responseUrl: (n) => `http://127.0.0.1:${port}/response/${n}`,
    calls,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

function parseBody(type, text) {
  try {
    if (type.includes('json')) return JSON.parse(text);
    return Object.fromEntries(new URLSearchParams(text));
  } catch {
    return {};
  }
}

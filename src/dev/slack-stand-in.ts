/**
 * DEVELOPMENT STAND-IN for the Slack Web API: NOT Slack.
 *
 * A loopback HTTP server that answers the few Web API methods release-bot calls (chat.postMessage,
 * chat.update, chat.postEphemeral, users.info, auth.test) the way Slack does (`{ ok: true, ... }`,
 * `{ ok: false, error }` with HTTP 200), plus response_url posts, and records every call with its
 * body so tests and `npm run demo` can show what the release channel would read. It never records a
 * token: only whether the right one was presented.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface StandInUser {
  id: string;
  email?: string;
  name?: string;
  teamId?: string;
  deleted?: boolean;
  isBot?: boolean;
  /** A guest account. */
  isRestricted?: boolean;
}

export interface SlackStandInOptions {
  /** The bot token calls must present as `Authorization: Bearer <token>`; any token passes when absent. */
  token?: string;
  users?: StandInUser[];
  teamId?: string;
  botUserId?: string;
  botId?: string;
  port?: number;
}

export interface RecordedSlackCall {
  seq: number;
  at: string;
  /** Web API method (`chat.postMessage`), or `response_url`. */
  method: string;
  /** For response_url posts: the id in `/response/<id>`. */
  responseId?: string;
  /** The parameters as sent (JSON or form), with `blocks` and `attachments` decoded from their JSON strings. */
  body: Record<string, unknown>;
  /** Whether the expected bot token was presented. */
  authorized: boolean;
  /** What the stand-in answered. */
  response: Record<string, unknown>;
}

/** A channel message as it reads now: posted, then replaced by each chat.update. */
export interface StandInMessage {
  channel: string;
  ts: string;
  threadTs?: string;
  text: string;
  blocks: unknown[];
  /** Every version of the message, oldest first (the post, then each update). */
  versions: Array<{ text: string; blocks: unknown[] }>;
}

export interface SlackStandIn {
  url: string;
  /** Give this to the bot as SLACK_API_URL. */
  apiUrl: string;
  port: number;
  calls: RecordedSlackCall[];
  callsTo(method: string): RecordedSlackCall[];
  /** A response_url for a request built by a test; posts to it are recorded as `response_url`. */
  responseUrl(id?: string): string;
  /** Resolves with the first recorded call (past or future) that matches, or rejects after `timeoutMs`. */
  waitFor(predicate: (call: RecordedSlackCall) => boolean, timeoutMs?: number): Promise<RecordedSlackCall>;
  /** The messages of a channel (all channels when absent) as they read now, in posting order. */
  messages(channel?: string): StandInMessage[];
  addUser(user: StandInUser): void;
  close(): Promise<void>;
}

const MAX_BODY = 1024 * 1024;

export async function startSlackStandIn(options: SlackStandInOptions = {}): Promise<SlackStandIn> {
  const teamId = options.teamId ?? 'T0DEVTEAM';
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const calls: RecordedSlackCall[] = [];
  const messages = new Map<string, StandInMessage>();
  const waiters: Array<{ predicate: (c: RecordedSlackCall) => boolean; resolve: (c: RecordedSlackCall) => void }> = [];
  let seq = 0;
  let tsCounter = 0;
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
  const key = (channel: string, ts: string) => `${channel}/${ts}`;

  function answer(method: string, p: Record<string, unknown>): Record<string, unknown> {
    const text = typeof p.text === 'string' ? p.text : '';
    const blocks = Array.isArray(p.blocks) ? p.blocks : [];
    const channel = typeof p.channel === 'string' ? p.channel : '';
    switch (method) {
      case 'auth.test':
        return { ok: true, url: 'https://dev-stand-in.slack.invalid/', team: 'stand-in', team_id: teamId, user: 'release-bot', user_id: options.botUserId ?? 'U0RELEASEBOT', bot_id: options.botId ?? 'B0RELEASEBOT' };
      case 'chat.postMessage': {
        if (!channel) return { ok: false, error: 'channel_not_found' };
        if (!text && blocks.length === 0) return { ok: false, error: 'no_text' };
        const ts = nextTs();
        const threadTs = typeof p.thread_ts === 'string' ? p.thread_ts : undefined;
        if (threadTs && !messages.has(key(channel, threadTs))) return { ok: false, error: 'thread_not_found' };
        messages.set(key(channel, ts), { channel, ts, ...(threadTs ? { threadTs } : {}), text, blocks, versions: [{ text, blocks }] });
        return { ok: true, channel, ts, message: { type: 'message', text, blocks, ts, ...(threadTs ? { thread_ts: threadTs } : {}) } };
      }
      case 'chat.update': {
        const ts = typeof p.ts === 'string' ? p.ts : '';
        const message = messages.get(key(channel, ts));
        if (!message) return { ok: false, error: 'message_not_found' };
        message.text = text;
        message.blocks = blocks;
        message.versions.push({ text, blocks });
        return { ok: true, channel, ts, text };
      }
      case 'chat.postEphemeral':
        if (!channel || typeof p.user !== 'string') return { ok: false, error: 'invalid_arguments' };
        return { ok: true, message_ts: nextTs() };
      case 'users.info': {
        const user = typeof p.user === 'string' ? users.get(p.user) : undefined;
        if (!user) return { ok: false, error: 'user_not_found' };
        return {
          ok: true,
          user: {
            id: user.id,
            team_id: user.teamId ?? teamId,
            name: user.name ?? user.id.toLowerCase(),
            deleted: Boolean(user.deleted),
            is_bot: Boolean(user.isBot),
            is_restricted: Boolean(user.isRestricted),
            is_ultra_restricted: false,
            profile: { ...(user.email ? { email: user.email } : {}), real_name: user.name ?? user.id },
          },
        };
      }
      default:
        return { ok: false, error: 'unknown_method' };
    }
  }

  function record(call: Omit<RecordedSlackCall, 'seq' | 'at'>): RecordedSlackCall {
    const full: RecordedSlackCall = { seq: ++seq, at: new Date().toISOString(), ...call };
    calls.push(full);
    for (const w of [...waiters]) {
      if (w.predicate(full)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(full);
      }
    }
    return full;
  }

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const url = new URL(req.url ?? '/', 'http://stand-in');
      const body = parseBody(raw, req.headers['content-type'] ?? '');
      const send = (status: number, payload: Record<string, unknown>) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8' });
        res.end(JSON.stringify(payload));
      };
      const response = url.pathname.match(/^\/response\/([A-Za-z0-9_-]+)$/);
      if (response && req.method === 'POST') {
        const payload = { ok: true };
        record({ method: 'response_url', responseId: response[1] as string, body, authorized: true, response: payload });
        return send(200, payload);
      }
      const api = url.pathname.match(/^\/api\/([A-Za-z.]+)$/);
      if (!api || req.method !== 'POST') return send(404, { ok: false, error: 'not_found' });
      const method = api[1] as string;
      const authorized = options.token === undefined || req.headers.authorization === `Bearer ${options.token}`;
      const payload = authorized ? answer(method, body) : { ok: false, error: 'invalid_auth' };
      record({ method, body, authorized, response: payload });
      send(200, payload);
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    apiUrl: `${url}/api/`,
    port,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    responseUrl: (id = randomBytes(6).toString('hex')) => `${url}/response/${id}`,
    waitFor(predicate, timeoutMs = 15_000) {
      const seen = calls.find(predicate);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const waiter = {
          predicate,
          resolve: (c: RecordedSlackCall) => {
            clearTimeout(timer);
            resolve(c);
          },
        };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(waiter), 1);
          reject(new Error(`no matching Slack call within ${timeoutMs} ms; calls so far: ${calls.map((c) => c.method).join(', ') || 'none'}`));
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    messages: (channel) => [...messages.values()].filter((m) => channel === undefined || m.channel === channel),
    addUser: (user) => void users.set(user.id, user),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Slack's Web API takes form-encoded or JSON bodies; complex form fields are JSON strings. */
function parseBody(raw: string, contentType: string): Record<string, unknown> {
  if (!raw) return {};
  if (contentType.startsWith('application/json')) {
    try {
      const parsed: unknown = JSON.parse(raw);
      return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : { value: parsed };
    } catch {
      return { unparsed: raw };
    }
  }
  const body: Record<string, unknown> = Object.fromEntries(new URLSearchParams(raw));
  for (const field of ['blocks', 'attachments']) {
    if (typeof body[field] === 'string') {
      try {
        body[field] = JSON.parse(body[field] as string);
      } catch {
        // Left as sent: a test then sees exactly what the bot posted.
      }
    }
  }
  return body;
}

/**
 * DEVELOPMENT STAND-IN for the Slack Web API: NOT Slack.
 *
 * A loopback HTTP server that answers the few Web API methods release-bot calls (chat.postMessage,
 * chat.update, chat.postEphemeral, users.info, auth.test) the way Slack does (`{ ok: true, ... }`,
 * `{ ok: false, error }` with HTTP 200), plus response_url posts, and records every call with its
 * body so tests and `npm run demo` can show what the release channel would read. It never records a
 * token: only whether the right one was presented.
 *
 * Socket Mode too: `apps.connections.open` (with the app-level token) hands out a single-use
 * `ws://127.0.0.1:<port>/socket-mode/link/?ticket=...` URL; the WebSocket there says `hello`, and
 * `socketMode.send()` delivers an envelope (`slash_commands`, `interactive`) and waits for the app's
 * ack carrying its `envelope_id`, as Slack does.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketPeer } from './websocket-peer.js';

export interface StandInUser {
  id: string;
  email?: string;
  name?: string;
  /** The user's own workspace (default: the stand-in's). */
  teamId?: string;
  /** Enterprise Grid: the user's organisation (answered as `enterprise_user`). */
  enterpriseId?: string;
  deleted?: boolean;
  isBot?: boolean;
  /** A multi-channel guest. */
  isRestricted?: boolean;
  /** A single-channel guest (Slack sets `is_restricted` too). */
  isUltraRestricted?: boolean;
  /** Of another organisation and in no channel shared with this workspace. */
  isStranger?: boolean;
}

export interface SlackStandInOptions {
  /** The bot token calls must present as `Authorization: Bearer <token>`; any token passes when absent. */
  token?: string;
  /** The app-level token (`xapp-...`) `apps.connections.open` must present; any token but the bot token passes when absent. */
  appToken?: string;
  appId?: string;
  users?: StandInUser[];
  teamId?: string;
  /** Enterprise Grid: the workspace's organisation, answered by auth.test. */
  enterpriseId?: string;
  botUserId?: string;
  botId?: string;
  /**
   * The bot token's scopes, sent as Slack sends them with every Web API answer to a valid token: the
   * `x-oauth-scopes` header, comma-separated (read by slackapi/node-slack-sdk packages/web-api/src/WebClient.ts
   * buildResult). Default: the scopes of deploy/slack/manifest.yml.
   */
  scopes?: string[];
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
  /** The seq of the last call recorded so far (0 before any): give it to `callsSince` to count what one action made. */
  mark(): number;
  /** Every call (Web API and response_url) recorded after `mark`, oldest first. */
  callsSince(mark: number): RecordedSlackCall[];
  /** A response_url for a request built by a test; posts to it are recorded as `response_url`. */
  responseUrl(id?: string): string;
  /** Resolves with the first recorded call (past or future) that matches, or rejects after `timeoutMs`. */
  waitFor(predicate: (call: RecordedSlackCall) => boolean, timeoutMs?: number): Promise<RecordedSlackCall>;
  /** The messages of a channel (all channels when absent) as they read now, in posting order. */
  messages(channel?: string): StandInMessage[];
  addUser(user: StandInUser): void;
  /** Makes a Web API method answer `{ ok: false, error }` (undefined: answer normally again). */
  failMethod(method: string, error: string | undefined): void;
  socketMode: SocketModeStandIn;
  close(): Promise<void>;
}

/** What the app answered to an envelope: its `envelope_id` and, for commands, the response payload. */
export interface SocketModeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface SocketModeStandIn {
  /** Socket Mode connections open now (hello sent, not closed). */
  connections(): number;
  /** Resolves once a connection is open (at once when one is), or rejects after `timeoutMs`. */
  waitForConnection(timeoutMs?: number): Promise<void>;
  /** Resolves once no connection is open. */
  waitForNoConnection(timeoutMs?: number): Promise<void>;
  /**
   * Delivers an envelope on the newest connection, as Slack does (`{ envelope_id, type, payload,
   * accepts_response_payload }`), and resolves with the app's ack; rejects when none comes in `timeoutMs`
   * (Slack shows the user an error after 3 s).
   */
  send(type: 'slash_commands' | 'interactive' | 'events_api', payload: Record<string, unknown>, timeoutMs?: number): Promise<SocketModeAck>;
  /** Asks every connection to reconnect, as Slack does when it recycles a server (`{ type: 'disconnect' }`). */
  refresh(): void;
  /** Cuts every connection without a close frame: what a network failure looks like to the app. */
  drop(): void;
}

const MAX_BODY = 1024 * 1024;

export async function startSlackStandIn(options: SlackStandInOptions = {}): Promise<SlackStandIn> {
  const teamId = options.teamId ?? 'T0DEVTEAM';
  const users = new Map((options.users ?? []).map((u) => [u.id, u]));
  const failing = new Map<string, string>();
  const calls: RecordedSlackCall[] = [];
  const messages = new Map<string, StandInMessage>();
  const waiters: Array<{ predicate: (c: RecordedSlackCall) => boolean; resolve: (c: RecordedSlackCall) => void }> = [];
  let seq = 0;
  let tsCounter = 0;
  let port = 0;
  const tickets = new Set<string>();
  const peers: WebSocketPeer[] = [];
  const pendingAcks = new Map<string, (ack: SocketModeAck) => void>();
  const connectionWaiters: Array<{ open: boolean; resolve: () => void }> = [];
  const wakeConnectionWaiters = () => {
    for (const w of [...connectionWaiters]) {
      if (w.open === peers.length > 0) {
        connectionWaiters.splice(connectionWaiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  const nextTs = () => `${Math.floor(Date.now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
  const key = (channel: string, ts: string) => `${channel}/${ts}`;

  function answer(method: string, p: Record<string, unknown>): Record<string, unknown> {
    const text = typeof p.text === 'string' ? p.text : '';
    const blocks = Array.isArray(p.blocks) ? p.blocks : [];
    const channel = typeof p.channel === 'string' ? p.channel : '';
    switch (method) {
      // Shaped as @slack/web-api's AuthTestResponse (packages/web-api/src/types/response/AuthTestResponse.ts):
      // enterprise_id only on Enterprise Grid.
      case 'auth.test':
        return {
          ok: true,
          url: 'https://dev-stand-in.slack.invalid/',
          team: 'stand-in',
          user: 'release-bot',
          team_id: teamId,
          user_id: options.botUserId ?? 'U0RELEASEBOT',
          bot_id: options.botId ?? 'B0RELEASEBOT',
          ...(options.enterpriseId ? { enterprise_id: options.enterpriseId } : {}),
          is_enterprise_install: false,
        };
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
        // Shaped as @slack/web-api's UsersInfoResponse (packages/web-api/src/types/response/UsersInfoResponse.ts):
        // `enterprise_user` only for Grid users, `is_stranger` only for strangers.
        const enterprise = user.enterpriseId ?? (user.teamId === undefined || user.teamId === teamId ? options.enterpriseId : undefined);
        return {
          ok: true,
          user: {
            id: user.id,
            team_id: user.teamId ?? teamId,
            name: user.name ?? user.id.toLowerCase(),
            real_name: user.name ?? user.id,
            deleted: Boolean(user.deleted),
            is_admin: false,
            is_owner: false,
            is_primary_owner: false,
            is_bot: Boolean(user.isBot),
            is_app_user: false,
            is_restricted: Boolean(user.isRestricted || user.isUltraRestricted),
            is_ultra_restricted: Boolean(user.isUltraRestricted),
            ...(user.isStranger ? { is_stranger: true } : {}),
            ...(enterprise
              ? {
                  enterprise_user: {
                    id: user.id,
                    enterprise_id: enterprise,
                    enterprise_name: 'stand-in org',
                    is_admin: false,
                    is_owner: false,
                    is_primary_owner: false,
                    teams: [user.teamId ?? teamId],
                  },
                }
              : {}),
            profile: { ...(user.email ? { email: user.email } : {}), real_name: user.name ?? user.id, team: user.teamId ?? teamId },
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
      const send = (status: number, payload: Record<string, unknown>, extra: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', ...extra });
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
      if (method === 'apps.connections.open') {
        const result = openConnection(req.headers.authorization);
        record({ method, body, authorized: result.ok === true, response: result });
        return send(200, result);
      }
      const authorized = options.token === undefined || req.headers.authorization === `Bearer ${options.token}`;
      const failure = failing.get(method);
      const payload = !authorized ? { ok: false, error: 'invalid_auth' } : failure ? { ok: false, error: failure } : answer(method, body);
      record({ method, body, authorized, response: payload });
      send(
        200,
        payload,
        authorized ? { 'x-oauth-scopes': (options.scopes ?? ['commands', 'chat:write', 'users:read', 'users:read.email']).join(',') } : {},
      );
    });
  });

  /** Socket Mode's first step: only the app-level token may open a connection (Slack refuses a bot token). */
  function openConnection(authorization: string | undefined): Record<string, unknown> {
    const presented = authorization?.startsWith('Bearer ') ? authorization.slice('Bearer '.length) : undefined;
    if (!presented) return { ok: false, error: 'not_authed' };
    if (presented === options.token) return { ok: false, error: 'not_allowed_token_type' };
    if (options.appToken !== undefined && presented !== options.appToken) return { ok: false, error: 'invalid_auth' };
    const ticket = randomUUID();
    tickets.add(ticket);
    return { ok: true, url: `ws://127.0.0.1:${port}/socket-mode/link/?ticket=${ticket}&app_id=${options.appId ?? 'A0RELEASEBOT'}` };
  }

  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://stand-in');
    const ticket = url.searchParams.get('ticket') ?? '';
    // A ticket opens one connection, as Slack's do: a URL seen in a log cannot be replayed.
    if (url.pathname !== '/socket-mode/link/' || !tickets.delete(ticket)) {
      socket.end('HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const peer = WebSocketPeer.accept(req, socket, head);
    if (!peer) return;
    peers.push(peer);
    peer.on('message', (text) => {
      let message: unknown;
      try {
        message = JSON.parse(text);
      } catch {
        return;
      }
      const ack = message as Partial<SocketModeAck>;
      if (typeof ack.envelope_id !== 'string') return;
      record({ method: 'socket_mode.ack', body: ack as Record<string, unknown>, authorized: true, response: {} });
      pendingAcks.get(ack.envelope_id)?.({ envelope_id: ack.envelope_id, ...(ack.payload ? { payload: ack.payload } : {}) });
      pendingAcks.delete(ack.envelope_id);
    });
    peer.on('close', () => {
      peers.splice(peers.indexOf(peer), 1);
      wakeConnectionWaiters();
    });
    peer.send(
      JSON.stringify({
        type: 'hello',
        num_connections: peers.length,
        debug_info: { host: 'stand-in', approximate_connection_time: 18060 },
        connection_info: { app_id: options.appId ?? 'A0RELEASEBOT' },
      }),
    );
    record({ method: 'socket_mode.hello', body: { num_connections: peers.length }, authorized: true, response: {} });
    wakeConnectionWaiters();
  });

  const waitForConnections = (open: boolean, timeoutMs: number) =>
    new Promise<void>((resolve, reject) => {
      if (open === peers.length > 0) return resolve();
      const waiter = {
        open,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      };
      const timer = setTimeout(() => {
        connectionWaiters.splice(connectionWaiters.indexOf(waiter), 1);
        reject(new Error(`Socket Mode: ${open ? 'no connection opened' : 'connections still open'} within ${timeoutMs} ms`));
      }, timeoutMs);
      connectionWaiters.push(waiter);
    });

  const socketMode: SocketModeStandIn = {
    connections: () => peers.length,
    waitForConnection: (timeoutMs = 15_000) => waitForConnections(true, timeoutMs),
    waitForNoConnection: (timeoutMs = 15_000) => waitForConnections(false, timeoutMs),
    send(type, payload, timeoutMs = 3_000) {
      const peer = peers[peers.length - 1];
      if (!peer) return Promise.reject(new Error('Socket Mode: no connection to send on'));
      const envelopeId = randomUUID();
      return new Promise<SocketModeAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingAcks.delete(envelopeId);
          reject(new Error(`Socket Mode: no ack for envelope ${envelopeId} (${type}) within ${timeoutMs} ms`));
        }, timeoutMs);
        pendingAcks.set(envelopeId, (ack) => {
          clearTimeout(timer);
          resolve(ack);
        });
        peer.send(
          JSON.stringify({
            envelope_id: envelopeId,
            type,
            payload,
            accepts_response_payload: type !== 'events_api',
            retry_attempt: 0,
            retry_reason: '',
          }),
        );
      });
    },
    refresh() {
      for (const peer of peers)
        peer.send(JSON.stringify({ type: 'disconnect', reason: 'refresh_requested', debug_info: { host: 'stand-in' } }));
    },
    drop() {
      for (const peer of [...peers]) peer.terminate();
    },
  };

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}`;

  return {
    url,
    apiUrl: `${url}/api/`,
    port,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    mark: () => calls.at(-1)?.seq ?? 0,
    callsSince: (mark) => calls.filter((c) => c.seq > mark),
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
          reject(
            new Error(`no matching Slack call within ${timeoutMs} ms; calls so far: ${calls.map((c) => c.method).join(', ') || 'none'}`),
          );
        }, timeoutMs);
        waiters.push(waiter);
      });
    },
    messages: (channel) => [...messages.values()].filter((m) => channel === undefined || m.channel === channel),
    addUser: (user) => void users.set(user.id, user),
    failMethod: (method, error) => void (error === undefined ? failing.delete(method) : failing.set(method, error)),
    socketMode,
    close: () =>
      new Promise<void>((resolve) => {
        // Upgraded sockets are no longer the HTTP server's: closeAllConnections does not see them.
        for (const peer of [...peers]) peer.terminate();
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

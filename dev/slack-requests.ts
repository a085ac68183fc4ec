/**
 * DEVELOPMENT helpers that build and sign requests exactly as Slack sends them to an app (slash
 * commands, button clicks), for tests and `npm run demo`. Never used by the bot itself.
 */
import { createHmac, randomBytes } from 'node:crypto';

export interface SlackSignature {
  'x-slack-signature': string;
  'x-slack-request-timestamp': string;
}

/**
 * Slack's request signature: `v0=` + hex HMAC-SHA256 with the signing secret over
 * `v0:<timestamp>:<raw body>`; the timestamp is in seconds.
 */
export function signSlackRequest(signingSecret: string, rawBody: string, timestampSeconds = Math.floor(Date.now() / 1000)): SlackSignature {
  const base = `v0:${timestampSeconds}:${rawBody}`;
  return {
    'x-slack-signature': `v0=${createHmac('sha256', signingSecret).update(base).digest('hex')}`,
    'x-slack-request-timestamp': String(timestampSeconds),
  };
}

export interface SlashCommandFields {
  command: string;
  text: string;
  user_id: string;
  user_name: string;
  team_id: string;
  team_domain: string;
  channel_id: string;
  channel_name: string;
  api_app_id: string;
  response_url: string;
  trigger_id: string;
  is_enterprise_install: string;
  /** Enterprise Grid only (Bolt's SlashCommand type: `enterprise_id?`, `enterprise_name?`). */
  enterprise_id?: string;
  enterprise_name?: string;
}

/** The form body of a slash command, as Slack posts it; override any field. */
export function slashCommand(overrides: Partial<SlashCommandFields> = {}): string {
  const fields = Object.entries(slashCommandFields(overrides)).filter((entry): entry is [string, string] => entry[1] !== undefined);
  return new URLSearchParams(fields).toString();
}

/** The fields of a slash command: the form body's over HTTP, the envelope's `payload` in Socket Mode. */
export function slashCommandFields(overrides: Partial<SlashCommandFields> = {}): SlashCommandFields {
  return {
    command: '/release',
    text: '',
    user_id: 'U024BE7LH',
    user_name: 'alice',
    team_id: 'T0DEVTEAM',
    team_domain: 'stand-in',
    channel_id: 'C0RELEASES',
    channel_name: 'releases',
    api_app_id: 'A0RELEASEBOT',
    response_url: 'https://hooks.slack.com/commands/T0DEVTEAM/1/stand-in',
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    is_enterprise_install: 'false',
    ...overrides,
  };
}

export interface ButtonClickFields {
  actionId: string;
  value: string;
  userId: string;
  userName?: string;
  /** The workspace the click happened in (`team.id`). */
  teamId?: string;
  /** The clicker's own workspace (`user.team_id`; default: teamId). */
  userTeamId?: string;
  /** Enterprise Grid: `team.enterprise_id` and `enterprise.id`. */
  enterpriseId?: string;
  channelId?: string;
  /** ts of the message holding the button. */
  messageTs?: string;
  responseUrl: string;
  blockId?: string;
}

/**
 * The form body of a `block_actions` interaction (a button click): `payload=<json>`, shaped as Bolt's
 * BlockAction type (slackapi/bolt-js src/types/actions/block-action.ts).
 */
export function buttonClick(f: ButtonClickFields): string {
  const teamId = f.teamId ?? 'T0DEVTEAM';
  const grid = f.enterpriseId ? { enterprise_id: f.enterpriseId, enterprise_name: 'stand-in org' } : {};
  const channelId = f.channelId ?? 'C0RELEASES';
  const messageTs = f.messageTs ?? '1700000000.000001';
  const payload = {
    type: 'block_actions',
    user: {
      id: f.userId,
      username: f.userName ?? f.userId.toLowerCase(),
      name: f.userName ?? f.userId.toLowerCase(),
      team_id: f.userTeamId ?? teamId,
    },
    api_app_id: 'A0RELEASEBOT',
    token: 'deprecated-verification-token',
    container: { type: 'message', message_ts: messageTs, channel_id: channelId, is_ephemeral: false },
    trigger_id: `${Date.now()}.${randomBytes(4).toString('hex')}`,
    team: { id: teamId, domain: 'stand-in', ...grid },
    enterprise: f.enterpriseId ? { id: f.enterpriseId, name: 'stand-in org' } : null,
    is_enterprise_install: false,
    channel: { id: channelId, name: 'releases' },
    message: { type: 'message', ts: messageTs, text: '', blocks: [] },
    response_url: f.responseUrl,
    actions: [
      {
        type: 'button',
        action_id: f.actionId,
        block_id: f.blockId ?? 'b',
        text: { type: 'plain_text', text: 'button' },
        value: f.value,
        action_ts: `${Date.now() / 1000}`,
      },
    ],
  };
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export interface SentRequest {
  status: number;
  body: string;
  /** Milliseconds from sending to the complete response. */
  elapsedMs: number;
}

export interface SendOptions {
  signingSecret: string;
  /** Seconds; defaults to now. */
  timestamp?: number;
  /** Sent instead of the computed signature (forgeries). */
  signature?: string;
}

/** POSTs a signed form body the way Slack does. */
export async function sendSlackRequest(url: string, rawBody: string, o: SendOptions): Promise<SentRequest> {
  const signed = signSlackRequest(o.signingSecret, rawBody, o.timestamp);
  const started = performance.now();
  const res = await fetch(url, {
    method: 'POST',
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': signed['x-slack-request-timestamp'],
      'x-slack-signature': o.signature ?? signed['x-slack-signature'],
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
    },
    body: rawBody,
  });
  const body = await res.text();
  return { status: res.status, body, elapsedMs: performance.now() - started };
}

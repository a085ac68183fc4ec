import type { webApi } from '@slack/bolt';
import type { Logger } from 'pino';
import type { Redactor } from '../../src/redact.js';
import type { SlackUserProfile } from './identity.js';
import type { SlackMessage } from './messages/mrkdwn.js';

/** A Bolt `respond` function (posts to the request's response_url). */
export type Respond = (message: Record<string, unknown>) => Promise<unknown>;

/**
 * The bot's way of speaking in Slack. Every payload passes the redactor on its way out, whatever
 * built it: a secret registered anywhere in the process cannot reach a chat message. Chat is a
 * way out, never a reason for a release to fail: errors are logged, not thrown.
 */
export class SlackChat {
  constructor(
    private readonly client: webApi.WebClient,
    private readonly redactor: Redactor,
    private readonly log: Logger,
  ) {}

  /** Posts to a channel (or a thread); returns the message's ts, or undefined when Slack refused. */
  async post(channel: string, message: SlackMessage, threadTs?: string): Promise<string | undefined> {
    try {
      const res = await this.client.chat.postMessage({
        channel,
        ...this.redacted(message),
        ...(threadTs ? { thread_ts: threadTs } : {}),
        unfurl_links: false,
        unfurl_media: false,
      });
      return typeof res.ts === 'string' ? res.ts : undefined;
    } catch (err) {
      this.fail('chat.postMessage', channel, err);
      return undefined;
    }
  }

  async update(channel: string, ts: string, message: SlackMessage): Promise<void> {
    try {
      await this.client.chat.update({ channel, ts, ...this.redacted(message) });
    } catch (err) {
      this.fail('chat.update', channel, err);
    }
  }

  async ephemeral(channel: string, user: string, message: SlackMessage): Promise<void> {
    try {
      await this.client.chat.postEphemeral({ channel, user, ...this.redacted(message) });
    } catch (err) {
      this.fail('chat.postEphemeral', channel, err);
    }
  }

  /** Answers through a request's response_url, only to the person who asked unless `inChannel`. */
  async respond(respond: Respond, message: SlackMessage, options: { replaceOriginal?: boolean } = {}): Promise<void> {
    try {
      await respond({ response_type: 'ephemeral', replace_original: options.replaceOriginal ?? false, ...this.redacted(message) });
    } catch (err) {
      this.fail('response_url', '-', err);
    }
  }

  /** users.info, for the email-localpart identity strategy. Throws: identity must fail closed. */
  async lookupUser(userId: string): Promise<SlackUserProfile> {
    const res = await this.client.users.info({ user: userId });
    const u = res.user;
    if (!u?.id) throw new Error('users.info returned no user');
    return {
      id: u.id,
      teamId: u.team_id,
      email: u.profile?.email,
      deleted: u.deleted,
      isBot: u.is_bot,
      isRestricted: Boolean(u.is_restricted || u.is_ultra_restricted),
    };
  }

  /** A message with every registered secret replaced; for payloads sent another way (an ack). */
  redacted(message: SlackMessage): SlackMessage {
    return this.redactor.redactDeep(message);
  }

  private fail(method: string, channel: string, err: unknown): void {
    const e = err as { code?: string; data?: { error?: string }; message?: string };
    this.log.warn({ method, channel, code: e.code, error: e.data?.error ?? e.message }, 'Slack call failed');
  }
}

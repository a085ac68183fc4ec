import type { SlackChat } from './chat.js';
import type { SlackMessage } from './messages/mrkdwn.js';

/**
 * Slack rate-limits chat.update per channel: a release's message is replaced at most once per this
 * interval, with the latest state (the ones in between are never sent; the final one always is).
 * The progress interval may be set longer (startSlackFrontEnd's `updateIntervalMs`); the audit summary waits
 * only for this one, and only when the message was written less than this long ago.
 */
export const UPDATE_INTERVAL_MS = 1000;

/**
 * How long a progress state with every destination done waits for the audit summary that follows it
 * (the finalize stage comes right after the last destination): sent before it, it would only hold the
 * summary back by a second. Shown anyway when no summary comes by then.
 */
export const HOLD_FOR_SUMMARY_MS = 5000;

/** One message's calls, in order: a reply or an update never overtakes the post it hangs from. */
export interface Thread {
  channel: string;
  /** The ts of the one message this thread hangs from, once Slack answered. */
  ts: Promise<string | undefined>;
  queue: Promise<void>;
}

interface Io {
  chat: Pick<SlackChat, 'post' | 'update'>;
  /** Least time between two writes of the message's progress (UPDATE_INTERVAL_MS or longer). */
  intervalMs: number;
  /** Runs `work` in the message's order once its ts is known. */
  enqueue(thread: Thread, work: (ts: string | undefined) => Promise<void>): void;
  track(p: Promise<void>): void;
  /** Called with the message's ts once posted, before anything hangs from it. */
  posted(ts: string): Promise<void>;
}

/**
 * A release's one channel message. It is posted when the release reaches its destinations (or a
 * second after the release started, whichever is first), so it opens with what is running instead
 * of a "preparing" that an update would replace a second later; after that it is updated at most
 * once per interval, the latest state winning, and the audit summary goes as soon as Slack's limit
 * allows: at once when the message was last written a second ago or more.
 */
export class ReleaseMessage implements Thread {
  ts: Promise<string | undefined>;
  queue: Promise<void>;
  private resolveTs!: (ts: string | undefined) => void;
  private readonly postTimer: ReturnType<typeof setTimeout>;
  private posting = false;
  /** The latest progress state: what the post shows. */
  private progress: SlackMessage;
  /** The message to show next, when newer than the one shown; `final` is the audit summary. */
  private latest: { message: SlackMessage; final: boolean; hold: boolean } | undefined;
  /** An update is waiting for its turn (at `at`, ms since the epoch): later changes only replace `latest`. */
  private due: { at: number; timer: ReturnType<typeof setTimeout>; fire: () => void } | undefined;
  /** When the message was last written (posted or updated), in ms since the epoch. */
  private lastWrite = 0;

  constructor(
    readonly channel: string,
    first: SlackMessage,
    private readonly io: Io,
  ) {
    this.ts = new Promise((resolve) => (this.resolveTs = resolve));
    this.queue = this.ts.then(() => undefined);
    this.progress = first;
    this.postTimer = setTimeout(() => this.post(), UPDATE_INTERVAL_MS);
    io.track(this.queue);
  }

  /** Posts the message now with its latest progress, when not posted yet. */
  post(): void {
    if (this.posting) return;
    this.posting = true;
    // Counted from the post's start: a change while it is on its way waits its turn after it.
    this.lastWrite = Date.now();
    clearTimeout(this.postTimer);
    // The post shows the latest progress; a summary that came before it replaces it next, as an update.
    if (!this.latest?.final) this.latest = undefined;
    let ts: string | undefined;
    const posted = (async () => {
      try {
        ts = await this.io.chat.post(this.channel, this.progress);
        this.lastWrite = Date.now();
        // Recorded before anything hangs from it: a crash after a thread reply still finds the message to update.
        if (ts) await this.io.posted(ts);
      } finally {
        this.resolveTs(ts);
        this.schedule();
      }
    })();
    this.io.track(posted);
  }

  /**
   * The message's next state. `hold`: progress with every destination done, which gives the summary
   * (due next) its place for HOLD_FOR_SUMMARY_MS. The summary is final: nothing replaces it.
   */
  show(message: SlackMessage, options: { final?: boolean; hold?: boolean } = {}): void {
    if (this.latest?.final) return;
    const final = options.final === true;
    if (!final) this.progress = message;
    this.latest = { message, final, hold: options.hold === true && !final };
    if (this.posting) this.schedule();
    else if (final) this.post();
  }

  private schedule(): void {
    const next = this.latest;
    if (!next || !this.posting) return;
    // Progress waits for the progress interval; the audit summary only for Slack's limit, so a long
    // interval (fewer updates) never holds the outcome back.
    let at = this.lastWrite + (next.final ? Math.min(this.io.intervalMs, UPDATE_INTERVAL_MS) : this.io.intervalMs);
    if (next.hold) at = Math.max(at, Date.now() + HOLD_FOR_SUMMARY_MS);
    if (this.due) {
      if (at !== this.due.at) {
        clearTimeout(this.due.timer);
        this.due.at = at;
        this.due.timer = setTimeout(this.due.fire, Math.max(0, at - Date.now()));
      }
      return;
    }
    let fire!: () => void;
    const due = new Promise<void>((resolve) => (fire = resolve));
    this.due = { at, fire, timer: setTimeout(fire, Math.max(0, at - Date.now())) };
    this.io.track(due.then(() => this.io.enqueue(this, (ts) => this.write(ts))));
  }

  private async write(ts: string | undefined): Promise<void> {
    const next = this.latest;
    this.latest = undefined;
    try {
      this.lastWrite = Date.now();
      if (next && ts) await this.io.chat.update(this.channel, ts, next.message);
      else if (next?.final) await this.io.chat.post(this.channel, next.message);
    } finally {
      this.due = undefined;
      this.schedule();
    }
  }
}

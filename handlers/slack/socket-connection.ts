import type { SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';

export interface SocketConnectionOptions {
  log: Logger;
  /** First wait after a failed attempt; doubles up to `retryMaxMs`. */
  retryBaseMs?: number;
  retryMaxMs?: number;
}

/**
 * Socket Mode's connection to Slack, opened in the background and kept open. The bot's HTTP server
 * (Jenkins webhook, /healthz, /metrics) must not wait for Slack: a release machine whose Slack is
 * unreachable still records staged builds. So `start()` returns at once; failures are logged and
 * retried with exponential backoff, and a connection that drops (network, Slack's `disconnect`
 * refresh) is opened again. The Socket Mode client's own reconnection is off (see mount.ts): its
 * retries of an unreachable Slack reject a promise nobody handles, which ends the process.
 */
export class SocketConnection {
  private attempt: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private lastWarnAt = 0;
  private stopped = false;
  private connected = false;

  constructor(
    private readonly receiver: SocketModeReceiver,
    private readonly options: SocketConnectionOptions,
  ) {
    receiver.client.on('disconnected', () => {
      // A connection that was up went down; failed attempts are handled where they fail.
      if (!this.connected || this.stopped) return;
      this.connected = false;
      this.options.log.warn('Socket Mode connection to Slack closed; opening a new one');
      this.schedule(0);
    });
  }

  get isConnected(): boolean {
    return this.connected;
  }

  start(): void {
    this.connect();
  }

  /** Closes the connection and stops retrying; waits at most `timeoutMs` for an attempt under way. */
  async stop(timeoutMs = 5_000): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const attempt = this.attempt;
    if (attempt) await Promise.race([attempt, new Promise((resolve) => setTimeout(resolve, timeoutMs).unref())]);
    this.connected = false;
    await this.receiver
      .stop()
      .catch((err: unknown) => this.options.log.debug({ err: (err as Error).message }, 'closing the Socket Mode connection failed'));
  }

  private connect(): void {
    if (this.stopped || this.attempt) return;
    this.attempt = this.receiver
      .start()
      .then(
        () => {
          if (this.failures > 0) this.options.log.info({ afterFailures: this.failures }, 'Socket Mode connected to Slack');
          else this.options.log.info('Socket Mode connected to Slack');
          this.failures = 0;
          this.connected = true;
        },
        (err: unknown) => {
          this.failures += 1;
          const delay = Math.min((this.options.retryBaseMs ?? 1_000) * 2 ** (this.failures - 1), this.options.retryMaxMs ?? 60_000);
          // One warning when it starts failing, then at most one a minute: a long Slack outage must not flood the log.
          const quiet = this.failures > 1 && Date.now() - this.lastWarnAt < 60_000;
          if (!quiet) this.lastWarnAt = Date.now();
          const e = err as { code?: string; data?: { error?: string }; message?: string };
          this.options.log[quiet ? 'debug' : 'warn'](
            { code: e.code, error: e.data?.error ?? e.message, failures: this.failures, retryInMs: delay },
            'Socket Mode cannot connect to Slack; retrying (the HTTP server keeps running). Check SLACK_APP_TOKEN and that the machine reaches Slack (or SLACK_API_URL)',
          );
          this.schedule(delay);
        },
      )
      .finally(() => {
        this.attempt = undefined;
        // stop() came while connecting: the attempt may have opened a connection after the close.
        if (this.stopped) void this.receiver.stop().catch(() => undefined);
      });
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.connect();
    }, delayMs);
    this.timer.unref();
  }
}

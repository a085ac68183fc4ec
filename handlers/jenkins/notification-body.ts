import type { Readable } from 'node:stream';

/**
 * The Notification plugin's JSON carries the build's console log in `build.log` when its endpoint has
 * "log lines" set (Phase.java `getLog`: the last N lines, or the whole log with -1, each line ending in
 * "\n"), which can make the body many megabytes. The bot never reads the log, so the value of
 * `build.log` is dropped while the body streams in (it becomes `""`): memory stays bounded by what is
 * kept, however long the log. Everything else must still fit in `maxKept`; the whole body, log
 * included, in `maxTotal` (it is read off the socket, so it costs bandwidth and time, not memory).
 */
export interface NotificationBodyLimits {
  /** Bytes kept (the body without the log's text). */
  maxKept: number;
  /** Bytes read in all. */
  maxTotal: number;
}

export type NotificationBody = { kind: 'ok'; body: Buffer; droppedBytes: number } | { kind: 'too-large'; what: 'kept' | 'total' };

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const MAX_KEY = 64;

interface Frame {
  kind: 'object' | 'array';
  /** The key whose value is being read (objects), or null. */
  key: string | null;
  /** An object expects a key next (after `{` or `,`). */
  expectKey: boolean;
}

/**
 * A streaming scanner over JSON bytes that copies everything but the text of the string at
 * `build.log` (top-level key `build`, its key `log`). Keys are compared as written: a key spelled with
 * escapes (`"\u006cog"`) is not recognised, so its value is kept and counts against the limit (fails safe).
 * It does not validate: JSON.parse judges the output.
 */
export class LogFieldDropper {
  private readonly stack: Frame[] = [];
  private inString = false;
  private escaped = false;
  private stringIsKey = false;
  private dropping = false;
  private key: number[] | null = null;
  private readonly kept: Buffer[] = [];
  keptBytes = 0;
  droppedBytes = 0;

  write(chunk: Buffer): void {
    let start = 0;
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i] as number;
      if (this.inString) {
        if (this.escaped) {
          this.escaped = false;
        } else if (byte === BACKSLASH) {
          this.escaped = true;
        } else if (byte === QUOTE) {
          this.inString = false;
          if (this.dropping) {
            this.dropping = false;
            start = i; // the closing quote is kept
          } else if (this.stringIsKey) {
            this.endKey();
          }
          continue;
        }
        if (this.dropping) this.droppedBytes += 1;
        else if (this.stringIsKey && this.key) {
          if (this.key.length < MAX_KEY) this.key.push(byte);
          else this.key = null;
        }
        continue;
      }
      const top = this.stack[this.stack.length - 1];
      if (byte !== QUOTE) {
        this.nest(byte, top);
        continue;
      }
      this.inString = true;
      this.stringIsKey = top?.kind === 'object' && top.expectKey;
      if (this.stringIsKey) {
        this.key = [];
      } else if (this.atLog()) {
        this.dropping = true;
        this.keep(chunk.subarray(start, i + 1)); // up to and with the opening quote
        start = chunk.length; // nothing of the text, until the closing quote sets start again
      }
    }
    if (!this.dropping && start < chunk.length) this.keep(chunk.subarray(start));
  }

  body(): Buffer {
    return Buffer.concat(this.kept, this.keptBytes);
  }

  /** A byte outside strings: objects and arrays opened and closed, an object's next key after a comma. */
  private nest(byte: number, top: Frame | undefined): void {
    switch (byte) {
      case 0x7b: // {
        this.stack.push({ kind: 'object', key: null, expectKey: true });
        break;
      case 0x5b: // [
        this.stack.push({ kind: 'array', key: null, expectKey: false });
        break;
      case 0x7d: // }
      case 0x5d: // ]
        this.stack.pop();
        break;
      case 0x2c: // ,
        if (top?.kind === 'object') {
          top.expectKey = true;
          top.key = null;
        }
        break;
      default:
        break;
    }
  }

  private atLog(): boolean {
    return (
      this.stack.length === 2 &&
      this.stack[0]?.key === 'build' &&
      this.stack[1]?.kind === 'object' &&
      this.stack[1].key === 'log' &&
      !this.stack[1].expectKey
    );
  }

  private endKey(): void {
    const top = this.stack[this.stack.length - 1] as Frame;
    top.key = this.key ? Buffer.from(this.key).toString('latin1') : null;
    top.expectKey = false;
    this.key = null;
  }

  private keep(part: Buffer): void {
    if (part.length === 0) return;
    // Copied: the chunk's memory belongs to the stream.
    this.kept.push(Buffer.from(part));
    this.keptBytes += part.length;
  }
}

/**
 * Reads a Notification plugin body from the request stream, dropping `build.log` on the way. A body
 * whose kept part is too large is read to its end without keeping anything more, so the 413 reaches a
 * client still sending (closing on it would reset the connection under its answer); past `maxTotal`
 * reading stops (the stream is paused, not destroyed: the caller answers 413 with `Connection: close`).
 */
export function readNotificationBody(stream: Readable, limits: NotificationBodyLimits): Promise<NotificationBody> {
  const dropper = new LogFieldDropper();
  let total = 0;
  let keptTooLarge = false;
  return new Promise((resolve, reject) => {
    const finish = (result: NotificationBody | Error) => {
      stream.off('data', onData).off('end', onEnd).off('error', onError).off('close', onClose);
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total > limits.maxTotal) {
        stream.pause();
        finish({ kind: 'too-large', what: 'total' });
        return;
      }
      if (keptTooLarge) return;
      dropper.write(chunk);
      keptTooLarge = dropper.keptBytes > limits.maxKept;
    };
    const onEnd = () =>
      finish(keptTooLarge ? { kind: 'too-large', what: 'kept' } : { kind: 'ok', body: dropper.body(), droppedBytes: dropper.droppedBytes });
    const onError = (err: Error) => finish(err);
    const onClose = () => finish(new Error('the request was aborted before its body ended'));
    stream.on('data', onData).on('end', onEnd).on('error', onError).on('close', onClose);
  });
}

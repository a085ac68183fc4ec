import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { ErrorCode, ReleaseBotError } from '../src/errors.js';
import type { PublishContext } from '../src/publishing/types.js';
import { clip } from '../src/validate.js';
import { timedOut } from './common/wait.js';

/**
 * Shared ground for publishers that talk to a service: HTTP failures are sorted here, once
 * (network, 408, 429, 5xx and rate-limited 403 are retryable; everything else is final), and every
 * text that can reach an error passes ctx.redact first.
 */
export interface Service {
  /** Shown in messages: "GitHub rejected the credential (401) ...". */
  name: string;
  /** The credential's environment name, which the projects file maps to a Conjur variable. */
  credential: string;
}

type Ctx = Pick<PublishContext, 'redact' | 'signal'>;

/**
 * The most of an answer `request` reads (a GitHub list of 100 releases with full notes is a few MiB):
 * a longer body is a flood or not the service, and is cut off rather than held in memory.
 */
export const MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

export interface HttpRequest {
  method?: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  headers: Readonly<Record<string, string>>;
  json?: unknown;
  /** An application/x-www-form-urlencoded body (RubyGems' yank takes its parameters so). */
  form?: Readonly<Record<string, string>>;
  /** A file streamed as the body (release assets), never read whole into memory. */
  file?: { path: string; size: number; contentType: string };
  /** The answer is plain text (RubyGems' yank): returned in `text`, never parsed as JSON. */
  plainText?: boolean;
  /** Statuses the caller handles itself (e.g. 404 meaning "not there yet") instead of an error. */
  expect?: readonly number[];
}

export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  data: T;
  /** The body as text, for an expected failure status whose words matter (RubyGems answers in plain text). */
  text?: string;
}

/** Sends one request and returns its JSON body; any failure becomes a classified, redacted ReleaseBotError. */
export async function request<T>(ctx: Ctx, service: Service, req: HttpRequest): Promise<HttpResponse<T>> {
  const method = req.method ?? 'GET';
  const where = `${method} ${ctx.redact(new URL(req.url).pathname)}`;
  const headers: Record<string, string> = { 'User-Agent': 'release-bot', ...req.headers };
  let body: string | ReadableStream | undefined;
  if (req.json !== undefined) {
    body = JSON.stringify(req.json);
    headers['Content-Type'] = 'application/json';
  } else if (req.form !== undefined) {
    body = new URLSearchParams(req.form).toString();
    headers['Content-Type'] = 'application/x-www-form-urlencoded';
  } else if (req.file) {
    body = Readable.toWeb(createReadStream(req.file.path)) as ReadableStream;
    headers['Content-Type'] = req.file.contentType;
    headers['Content-Length'] = String(req.file.size);
  }
  let res: Response;
  let text: string;
  try {
    res = await fetch(req.url, {
      method,
      headers,
      body,
      signal: ctx.signal,
      redirect: 'follow',
      ...(req.file ? { duplex: 'half' } : {}),
    } as RequestInit);
    text = await readBounded(res, MAX_RESPONSE_BYTES);
  } catch (err) {
    if (ctx.signal.aborted) throw timedOut(`${service.name} ${where}`);
    if (err instanceof TooLarge) {
      throw new ReleaseBotError(
        ErrorCode.DestinationFailed,
        `${service.name} answered ${where} with more than ${MAX_RESPONSE_BYTES} bytes (status ${err.status}): not read further`,
        { retryable: err.status >= 500, details: { reason: 'too-large', status: err.status } },
      );
    }
    const code = networkCode(err);
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `could not reach ${service.name} (${where}): ${code}`, {
      retryable: true,
      details: { reason: 'network', code },
    });
  }
  if (!res.ok && !(req.expect ?? []).includes(res.status)) throw httpError(ctx, service, where, res.status, res.headers, text);
  if (req.plainText) return { status: res.status, headers: res.headers, data: undefined as T, text };
  if (res.status === 204 || text.trim() === '') return { status: res.status, headers: res.headers, data: undefined as T };
  try {
    return { status: res.status, headers: res.headers, data: JSON.parse(text) as T };
  } catch {
    // An expected failure status (404 "not there yet") may carry plain text; the status says it all.
    if (!res.ok) return { status: res.status, headers: res.headers, data: undefined as T, text };
    // A 2xx that is not JSON is a proxy or maintenance page, which passes.
    throw new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${service.name} answered ${where} with something that is not JSON: ${clip(ctx.redact(text.trim()), 200)}`,
      { retryable: true, details: { status: res.status } },
    );
  }
}

class TooLarge extends Error {
  constructor(readonly status: number) {
    super('answer too large');
  }
}

/** The body as text, read up to `limit` bytes; a longer one is cancelled unread (TooLarge). */
async function readBounded(res: Response, limit: number): Promise<string> {
  if (!res.body) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    size += chunk.length;
    if (size > limit) throw new TooLarge(res.status); // leaving the loop cancels the rest of the body
    chunks.push(chunk);
  }
  return new TextDecoder().decode(Buffer.concat(chunks)); // as res.text(): UTF-8, a BOM dropped
}

export interface Fetched {
  status: number;
  headers: Headers;
  /** sha256 (hex) of the body, when the status was 2xx and the body was no larger than `limit`. */
  sha256?: string;
  /** Bytes read: at most limit + 1 (one more than allowed means the body is larger). */
  size: number;
}

/**
 * Streams a URL's body into sha256 without holding it in memory, reading at most `limit` + 1 bytes:
 * the caller knows the size it expects, and a larger body is different bytes whatever follows.
 * A non-2xx body is not read. Network failures are retryable, like `request`'s.
 */
export async function hashUrl(
  ctx: Ctx,
  service: Service,
  url: string,
  opts: { headers?: Readonly<Record<string, string>>; limit: number; redirect?: 'follow' | 'manual' },
): Promise<Fetched> {
  const where = `GET ${ctx.redact(new URL(url).pathname)}`;
  try {
    const res = await fetch(url, {
      headers: { 'User-Agent': 'release-bot', ...opts.headers },
      signal: ctx.signal,
      redirect: opts.redirect ?? 'follow',
    });
    if (!res.ok || !res.body) {
      await res.body?.cancel();
      return { status: res.status, headers: res.headers, size: 0 };
    }
    const hash = createHash('sha256');
    let size = 0;
    const reader = res.body.getReader();
    for (let read = await reader.read(); !read.done; read = await reader.read()) {
      const chunk = read.value;
      const room = opts.limit + 1 - size;
      hash.update(chunk.length > room ? chunk.subarray(0, room) : chunk);
      size += Math.min(chunk.length, room);
      if (size > opts.limit) {
        await reader.cancel(); // the rest of the body is never read
        break;
      }
    }
    return { status: res.status, headers: res.headers, size, ...(size <= opts.limit ? { sha256: hash.digest('hex') } : {}) };
  } catch (err) {
    if (ctx.signal.aborted) throw timedOut(`${service.name} ${where}`);
    const code = networkCode(err);
    throw new ReleaseBotError(ErrorCode.DestinationFailed, `could not download from ${service.name} (${where}): ${code}`, {
      retryable: true,
      details: { reason: 'network', code },
    });
  }
}

/** Sorts an HTTP failure into retryable or final, with a message that says what to do. */
export function httpError(
  ctx: Pick<PublishContext, 'redact'>,
  service: Service,
  where: string,
  status: number,
  headers: Headers,
  text: string,
): ReleaseBotError {
  const said = clip(ctx.redact(serviceMessage(text)), 300);
  const suffix = said ? `: ${said}` : '';
  const retryAfter = retryAfterSeconds(headers);
  // The release core waits at least this long before the next attempt (within the destination's timeout).
  const details: Record<string, unknown> = { status, ...(retryAfter === undefined ? {} : { retryAfterSeconds: retryAfter }) };
  const rateLimited = status === 429 || (status === 403 && (headers.get('x-ratelimit-remaining') === '0' || headers.has('retry-after')));
  if (rateLimited) {
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${service.name} is rate-limiting us (${status} on ${where}); will retry later${suffix}`,
      { retryable: true, details: { ...details, reason: 'rate-limited' } },
    );
  }
  if (status >= 500 || status === 408) {
    return new ReleaseBotError(ErrorCode.DestinationFailed, `${service.name} failed on ${where} (${status}); will retry${suffix}`, {
      retryable: true,
      details: { ...details, reason: 'server' },
    });
  }
  if (status === 401) {
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${service.name} rejected the credential (401 on ${where}): check the Conjur variable behind ${service.credential} (wrong, expired or revoked)${suffix}`,
      { details: { ...details, reason: 'auth' } },
    );
  }
  if (status === 403) {
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `${service.name} refused ${where} (403): the ${service.credential} credential lacks the permission for it${suffix}`,
      { details: { ...details, reason: 'auth' } },
    );
  }
  return new ReleaseBotError(ErrorCode.DestinationFailed, `${service.name} answered ${status} to ${where}${suffix}`, {
    details: { ...details, reason: 'rejected' },
  });
}

/**
 * How long a service asked us to wait: Retry-After as seconds or as an HTTP date (RFC 9110 §10.2.3),
 * else GitHub's primary rate limit, whose quota refills at x-ratelimit-reset (epoch seconds).
 */
export function retryAfterSeconds(headers: Headers, now = Date.now()): number | undefined {
  const value = headers.get('retry-after')?.trim();
  if (value) {
    if (/^\d+$/.test(value)) return Number(value);
    const at = Date.parse(value);
    if (Number.isFinite(at)) return Math.max(0, Math.ceil((at - now) / 1000));
  }
  if (headers.get('x-ratelimit-remaining') === '0') {
    const reset = Number(headers.get('x-ratelimit-reset') ?? NaN);
    if (Number.isFinite(reset) && reset > 0) return Math.max(0, Math.ceil(reset - now / 1000));
  }
  return undefined;
}

/** The human part of an error body: GitHub/Heroku `message`, RubyGems plain text, else the text itself. */
function serviceMessage(text: string): string {
  try {
    const json = JSON.parse(text) as { message?: unknown; error?: unknown; errors?: unknown };
    const parts = [json.message, json.error, json.errors === undefined ? undefined : JSON.stringify(json.errors)].filter(
      (p) => typeof p === 'string' && p,
    );
    if (parts.length > 0) return parts.join(' ');
  } catch {
    // not JSON: fall through to the raw text
  }
  return text.trim().replace(/\s+/g, ' ');
}

function networkCode(err: unknown): string {
  const cause = (err as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return clip(cause.message, 120);
  return err instanceof Error ? clip(err.message, 120) : 'network error';
}

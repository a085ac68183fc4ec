import http from 'node:http';
import https from 'node:https';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { clip } from '../../src/validate.js';
import type { Service } from '../http.js';
import { timedOut } from '../common/wait.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
  /** Where the answer came from, after redirects. */
  from?: URL;
}

/** What one exchange with a registry needs besides the request: its TLS setting, the deadline, redaction, its name. */
export interface Link {
  tlsVerify: boolean;
  /** The CA certificates to trust when tlsVerify (registry-trust.ts: the ones skopeo trusts); Node's defaults when absent. */
  ca?: string[] | undefined;
  signal: AbortSignal;
  redact: (text: string) => string;
  service: Service;
}

export function isLoopback(hostname: string): boolean {
  return LOOPBACK.has(hostname) || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/** A response header's first value. */
export function replyHeader(reply: Pick<Reply, 'headers'>, name: string): string | undefined {
  const value = reply.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

export function toHeaders(headers: http.IncomingHttpHeaders): Headers {
  const out = new Headers();
  for (const [k, v] of Object.entries(headers)) {
    if (typeof v === 'string') out.set(k, v);
    else if (Array.isArray(v)) for (const one of v) out.append(k, one);
  }
  return out;
}

/** What a failed exchange throws: the deadline, an untrusted certificate (final), or the network (retryable). */
function exchangeError(link: Link, where: string, err: unknown): ReleaseBotError {
  if (link.signal.aborted) return timedOut(`${link.service.name} ${where}`);
  if (err instanceof ReleaseBotError) return err;
  const code = (err as { code?: unknown }).code;
  const what = typeof code === 'string' ? code : clip(link.redact(String((err as Error).message ?? err)), 120);
  if (/CERT|SELF_SIGNED|UNABLE_TO_VERIFY/.test(what)) {
    // An untrusted certificate stays untrusted: retrying cannot help, and it may be someone in between.
    return new ReleaseBotError(
      ErrorCode.DestinationFailed,
      `the TLS certificate of ${link.service.name} is not trusted (${what} on ${where}): give the registry a certificate the release machine trusts (tls_verify: false only for a test registry)`,
      { details: { reason: 'tls', code: what } },
    );
  }
  return new ReleaseBotError(ErrorCode.DestinationFailed, `could not reach ${link.service.name} (${where}): ${what}`, {
    retryable: true,
    details: { reason: 'network', code: what },
  });
}

/** A body over the limit: refused unread when the answer was a success, retryable when it was the server's error page. */
function tooLarge(link: Link, where: string, limit: number, status: number | undefined): ReleaseBotError {
  const ok = (status ?? 0) < 300;
  return new ReleaseBotError(
    ErrorCode.DestinationFailed,
    `${link.service.name} answered ${where} with more than ${limit} bytes${ok ? ': refused unread' : ` (status ${status})`}`,
    { retryable: !ok, details: { reason: ok ? 'too-large' : 'server', status } },
  );
}

/**
 * One HTTP exchange; the body is read up to `limit` bytes and a longer one is refused. No agent and no
 * proxy: the request goes straight to the registry with the destination's own TLS setting and the CAs
 * skopeo trusts for it.
 */
export function exchange(
  link: Link,
  method: string,
  url: URL,
  headers: Record<string, string>,
  body: Buffer | undefined,
  limit: number,
): Promise<Reply> {
  const where = `${method} ${link.redact(url.pathname)}`;
  const transport = url.protocol === 'https:' ? https : http;
  const options: https.RequestOptions = {
    method,
    headers: {
      'User-Agent': 'release-bot',
      ...headers,
      ...(body || method === 'POST' || method === 'PUT' ? { 'Content-Length': String(body?.length ?? 0) } : {}),
    },
    signal: link.signal,
    agent: false,
    ...(url.protocol === 'https:' ? { rejectUnauthorized: link.tlsVerify, ...(link.tlsVerify && link.ca ? { ca: link.ca } : {}) } : {}),
  };
  return new Promise<Reply>((resolve, reject) => {
    const fail = (err: unknown) => reject(exchangeError(link, where, err));
    const req = transport.request(url, options, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > limit) {
          res.destroy();
          req.destroy();
          reject(tooLarge(link, where, limit, res.statusCode));
          return;
        }
        chunks.push(chunk);
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(body);
  });
}

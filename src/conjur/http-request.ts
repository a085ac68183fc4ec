import http from 'node:http';
import https from 'node:https';
import { ErrorCode, ReleaseBotError } from '../errors.js';

export interface HttpResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
}

export interface HttpRequestOptions {
  method: 'GET' | 'POST';
  url: URL;
  headers: Record<string, string>;
  body?: string;
  /** PEM of the CA(s) to trust instead of the system store (CONJUR_CERT_FILE). */
  ca?: string;
  timeoutMs: number;
}

/** Conjur's answers are small JSON documents; a larger body means something is wrong. */
const MAX_BODY_BYTES = 8 * 1024 * 1024;

/** TLS failures that no retry will fix: the operator has to point CONJUR_CERT_FILE at the right CA. */
const TLS_TRUST_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

/**
 * One HTTP exchange over node:http/node:https (not global fetch, so a private CA works on Node 20).
 * Transport failures become ConjurUnavailable; the status code is left to the caller.
 * The error messages name the server and the cause, never a header or a body.
 */
export function httpRequest(options: HttpRequestOptions): Promise<HttpResponse> {
  const { url } = options;
  const where = `Conjur at ${url.origin}`;
  const transport = url.protocol === 'https:' ? https : http;
  return new Promise<HttpResponse>((resolve, reject) => {
    let settled = false;
    const fail = (err: ReleaseBotError): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      req.destroy();
      reject(err);
    };
    const req = transport.request(
      url,
      {
        method: options.method,
        headers:
          options.body === undefined ? options.headers : { ...options.headers, 'Content-Length': String(Buffer.byteLength(options.body)) },
        ...(options.ca !== undefined && url.protocol === 'https:' ? { ca: options.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) fail(unavailable(`${where} sent an answer larger than ${MAX_BODY_BYTES} bytes`, false));
          else chunks.push(chunk);
        });
        res.on('aborted', () => fail(unavailable(`${where} closed the connection mid-answer`, true)));
        res.on('error', (err) => fail(unavailable(`${where} failed mid-answer (${codeOf(err)})`, true, err)));
        res.on('end', () => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString('utf8') });
        });
      },
    );
    const timer = setTimeout(
      () => fail(unavailable(`${where} did not answer within ${options.timeoutMs} ms`, true, undefined, { timeoutMs: options.timeoutMs })),
      options.timeoutMs,
    );
    req.on('error', (err) => {
      const code = codeOf(err);
      if (TLS_TRUST_CODES.has(code)) {
        fail(
          unavailable(
            `${where} presented a certificate this machine does not trust (${code}): set CONJUR_CERT_FILE to the PEM file of Conjur's CA (or its self-signed certificate), or CONJUR_SSL_CERTIFICATE to the PEM itself`,
            false,
            err,
          ),
        );
      } else {
        fail(unavailable(`${where} is unreachable (${code}): check CONJUR_APPLIANCE_URL and that Conjur is up`, true, err));
      }
    });
    req.end(options.body);
  });
}

function unavailable(message: string, retryable: boolean, cause?: unknown, details: Record<string, unknown> = {}): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.ConjurUnavailable, message, { retryable, cause, details });
}

function codeOf(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : err instanceof Error ? err.name : 'unknown error';
}

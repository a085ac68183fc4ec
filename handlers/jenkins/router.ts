import { createHash } from 'node:crypto';
import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../../src/errors.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { JenkinsBuildReports } from '../../src/store/jenkins-build-reports.js';
import type { UsedTokenIds } from '../../src/store/token-ids.js';
import { handleReport, type Answer, type Credential } from './handle-report.js';
import { verifyHubSignature } from './hmac.js';
import { httpStatus } from './http-status.js';
import { readNotificationBody } from './notification-body.js';
import type { KeyResolver } from './jwt-algorithms.js';
import { safeText } from './safe-text.js';
import { projectForUrlToken } from './url-token.js';
import { verifyJenkinsJwt, type JwtPolicy } from './verify-jwt.js';

export const MAX_BODY_BYTES = 1024 * 1024;
/**
 * The Notification plugin's body, its `build.log` included (which is dropped as it is read, never held):
 * a 1,000-line log is well under it; "log lines: -1" (the whole log) of a long build may not be.
 */
export const MAX_NOTIFICATION_BYTES = 32 * 1024 * 1024;

export interface JenkinsRouterDeps {
  core: ReleaseCore;
  tokenIds: UsedTokenIds;
  /** The one report of each build whose token has no jti (Jenkins' OIDC provider plugin). */
  buildReports: JenkinsBuildReports;
  log: Logger;
  /** Verifies bearer tokens; absent when no JWT key is configured. */
  keys?: KeyResolver | undefined;
  policy: JwtPolicy;
  /** JENKINS_WEBHOOK_SECRET, for X-Hub-Signature-256. */
  webhookSecret?: string | undefined;
  now?: () => Date;
}

type Route = 'bearer' | 'hmac' | 'url-token' | 'none';

const unauthenticated = (message: string) => new ReleaseBotError(ErrorCode.WebhookUnauthenticated, message);

/**
 * `POST /webhooks/jenkins` (a bearer JWT or an X-Hub-Signature-256 HMAC) and
 * `POST /webhooks/jenkins/<token>` (the Notification plugin's per-project URL token). Nothing here
 * ever logs or answers with the request path: on the token route it is a credential.
 */
export function createJenkinsRouter(deps: JenkinsRouterDeps): Router {
  const now = deps.now ?? (() => new Date());
  const router = express.Router({ caseSensitive: true });
  const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

  router.post('/', requireJson, rawBody, (req, res) => {
    const route: Route = req.get('authorization') !== undefined ? 'bearer' : req.get('x-hub-signature-256') !== undefined ? 'hmac' : 'none';
    respond(res, route, async () => {
      const raw = bodyOf(req);
      return handleReport(deps.core, await authenticate(req, raw, route), parseJson(raw), {
        tokens: deps.tokenIds,
        builds: deps.buildReports,
      });
    });
  });

  // The Notification plugin's route. The token is checked before a byte of the body is read (only a
  // project's own Jenkins may make the bot read up to MAX_NOTIFICATION_BYTES), and the body is read
  // dropping `build.log` (see notification-body.ts): the rest must fit in MAX_BODY_BYTES as everywhere.
  router.post('/:token', requireJson, (req, res, next) => {
    const project = projectForUrlToken(String(req.params.token), deps.core.config.projects.values());
    if (!project) {
      // Not read: the connection is closed after the answer instead.
      res.set('Connection', 'close');
      respond(res, 'url-token', () =>
        Promise.reject(
          unauthenticated("unknown notification token: use the URL with the token whose sha256 is the project's notification_token_sha256"),
        ),
      );
      return;
    }
    if (req.body !== undefined || req.readableEnded) {
      respond(res, 'url-token', async () => handleReport(deps.core, { kind: 'url-token', project: project.name }, parseJson(bodyOf(req))));
      return;
    }
    const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
    const length = Number(req.get('content-length') ?? NaN);
    if (encoding !== 'identity')
      return refuseUnread(res, 415, 'compressed or non-UTF-8 bodies are not accepted: send plain application/json');
    if (length > MAX_NOTIFICATION_BYTES)
      return refuseUnread(
        res,
        413,
        `the body is larger than ${MAX_NOTIFICATION_BYTES} bytes: lower the endpoint's "log lines" in the Notification plugin`,
      );
    readNotificationBody(req, { maxKept: MAX_BODY_BYTES, maxTotal: MAX_NOTIFICATION_BYTES }).then((read) => {
      if (read.kind === 'too-large') {
        if (read.what === 'total')
          return refuseUnread(
            res,
            413,
            `the body is larger than ${MAX_NOTIFICATION_BYTES} bytes: lower the endpoint's "log lines" in the Notification plugin`,
          );
        return refuse(res, 413, `the body without build.log is larger than ${MAX_BODY_BYTES} bytes`);
      }
      if (read.droppedBytes > 0)
        deps.log.debug({ component: 'jenkins', droppedLogBytes: read.droppedBytes }, 'jenkins notification: build.log dropped unread');
      respond(res, 'url-token', async () => handleReport(deps.core, { kind: 'url-token', project: project.name }, parseJson(read.body)));
    }, next);
  });

  // Anything else under /webhooks/jenkins: answered here, so express' own pages never quote the path.
  router.use((req: Request, res: Response) => {
    const status = req.method === 'POST' ? 404 : 405;
    if (status === 405) res.set('Allow', 'POST');
    res.status(status).json({
      status: 'error',
      error: status === 404 ? 'no such endpoint: POST /webhooks/jenkins or /webhooks/jenkins/<token>' : 'only POST is accepted here',
    });
  });

  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const e = err as { type?: string; status?: number };
    if (e.type === 'entity.too.large') return refuse(res, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
    if (e.type === 'encoding.unsupported')
      return refuse(res, 415, 'compressed or non-UTF-8 bodies are not accepted: send plain application/json');
    // Body read errors, bad percent-encoding in the path: never echo what was sent.
    const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
    deps.log.warn(
      { component: 'jenkins', status, type: safeText(String(e.type ?? 'unknown'), 40) },
      'jenkins webhook: request refused before it was read',
    );
    refuse(res, status, status === 500 ? 'internal error' : 'the request could not be read');
  });

  function respond(res: Response, route: Route, work: () => Promise<Answer>): void {
    work().then(
      (answer) => {
        deps.log.info(
          {
            component: 'jenkins',
            route,
            status: answer.status,
            outcome: answer.body.status,
            project: answer.body.project,
            version: answer.body.version,
          },
          'jenkins report',
        );
        res.status(answer.status).set('Cache-Control', 'no-store').json(answer.body);
      },
      (thrown: unknown) => {
        const err = toReleaseBotError(thrown);
        const status = httpStatus(err);
        const internal = status === 500;
        deps.log[status >= 500 ? 'error' : 'warn'](
          { component: 'jenkins', route, status, code: err.code, reason: err.message },
          'jenkins report refused',
        );
        if (status === 401) res.set('WWW-Authenticate', 'Bearer realm="release-bot"');
        const details = err.details;
        res
          .status(status)
          .set('Cache-Control', 'no-store')
          .json({
            status: 'error',
            code: err.code,
            error: internal ? 'internal error: see the release-bot log' : err.message,
            ...(Array.isArray(details.issues) && details.issues.length > 0 ? { issues: details.issues } : {}),
            ...(Array.isArray(details.problems) ? { problems: details.problems } : {}),
          });
      },
    );
  }

  async function authenticate(req: Request, raw: Buffer, route: Route): Promise<Credential> {
    if (route === 'bearer') {
      if (!deps.keys)
        throw unauthenticated(
          'bearer tokens are not accepted: the bot has no JENKINS_JWT_SECRET, JENKINS_JWT_PUBLIC_KEY or JENKINS_JWKS_URL',
        );
      const m = /^Bearer +([^ ]+) *$/i.exec(req.get('authorization') ?? '');
      if (!m) throw unauthenticated('the Authorization header must be "Bearer <JWT>"');
      const at = now();
      const claims = await verifyJenkinsJwt(m[1] as string, deps.keys, deps.policy, at, raw);
      if (claims.jti === undefined) {
        // No jti (the OIDC provider plugin's tokens): the build is single-use instead, checked once the report is read.
        return {
          kind: 'jwt',
          sub: claims.sub,
          build: {
            issuer: claims.iss ?? '',
            number: claims.buildNumber as number,
            bodySha256: createHash('sha256').update(raw).digest('hex'),
          },
        };
      }
      // Kept until the token can no longer pass `exp`, clock tolerance included. Only read here: the
      // staging commit records it with the build (handle-report.ts), so a report waits for the disk once.
      const token = {
        kind: 'token' as const,
        jti: claims.jti,
        expiresAt: claims.exp + deps.policy.clockToleranceSec,
        nowSeconds: Math.floor(at.getTime() / 1000),
      };
      if (deps.tokenIds.used(token.jti, token.nowSeconds)) {
        throw unauthenticated('this token was already used (same jti): mint a new token for every request');
      }
      return { kind: 'jwt', sub: claims.sub, token };
    }
    if (route === 'hmac') {
      if (!deps.webhookSecret) throw unauthenticated('X-Hub-Signature-256 is not accepted: the bot has no JENKINS_WEBHOOK_SECRET');
      verifyHubSignature(raw, req.get('x-hub-signature-256'), deps.webhookSecret);
      return { kind: 'hmac' };
    }
    throw unauthenticated(
      'no credentials: send "Authorization: Bearer <JWT>" (release-bot notify does) or an X-Hub-Signature-256 HMAC of the body',
    );
  }

  return router;
}

/** 415 before the body is read: only JSON (UTF-8) is accepted. */
function requireJson(req: Request, res: Response, next: NextFunction): void {
  const type = req.get('content-type') ?? '';
  const [media, ...params] = type.split(';').map((s) => s.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  if (media !== 'application/json' || (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8')) {
    refuse(res, 415, 'the body must be application/json (UTF-8)');
    return;
  }
  next();
}

/** A refusal before (all of) the body was read: the rest is not read, the connection closes after the answer. */
function refuseUnread(res: Response, status: number, error: string): void {
  res.set('Connection', 'close');
  refuse(res, status, error);
}

function refuse(res: Response, status: number, error: string): void {
  res.status(status).set('Cache-Control', 'no-store').json({ status: 'error', error });
}

/** The raw bytes (HMAC and body_sha256 are over them); empty when the request had no body. */
function bodyOf(req: Request): Buffer {
  if (Buffer.isBuffer(req.body)) return req.body;
  if (req.body !== undefined) {
    // A body parser mounted before this router already turned the bytes into an object: no signature can be checked.
    throw new ReleaseBotError(
      ErrorCode.Internal,
      'a body parser mounted before /webhooks/jenkins consumed the raw body: mount JSON parsers on their own paths',
    );
  }
  return Buffer.alloc(0);
}

function parseJson(raw: Buffer): unknown {
  if (raw.length === 0) throw new ReleaseBotError(ErrorCode.BadInput, 'the body is empty: send the report as JSON');
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(raw);
  } catch {
    throw new ReleaseBotError(ErrorCode.BadInput, 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new ReleaseBotError(ErrorCode.BadInput, 'the body is not valid JSON');
  }
}

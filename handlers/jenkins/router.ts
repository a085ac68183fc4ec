import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { ErrorCode, ReleaseBotError, toReleaseBotError } from '../../src/errors.js';
import type { ReleaseCore } from '../../src/release/core.js';
import type { JenkinsBuildReports } from '../../src/store/jenkins-build-reports.js';
import type { UsedTokenIds } from '../../src/store/token-ids.js';
import { authenticate, unauthenticated, type Route } from './authenticate.js';
import { handleReport, type Answer } from './handle-report.js';
import { httpStatus } from './http-status.js';
import { readNotificationBody } from './notification-body.js';
import type { KeyResolver } from './jwt-algorithms.js';
import { safeText } from './safe-text.js';
import { projectForUrlToken } from './url-token.js';
import type { JwtPolicy } from './verify-jwt.js';

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

const NOTIFICATION_TOO_LARGE = `the body is larger than ${MAX_NOTIFICATION_BYTES} bytes: lower the endpoint's "log lines" in the Notification plugin`;
const NOT_PLAIN_JSON = 'compressed or non-UTF-8 bodies are not accepted: send plain application/json';

/**
 * `POST /webhooks/jenkins` (a bearer JWT or an X-Hub-Signature-256 HMAC) and
 * `POST /webhooks/jenkins/<token>` (the Notification plugin's per-project URL token). Nothing here
 * ever logs or answers with the request path: on the token route it is a credential.
 */
export function jenkinsWebhookRouter(deps: JenkinsRouterDeps): Router {
  const router = express.Router({ caseSensitive: true });
  const rawBody = express.raw({ type: () => true, limit: MAX_BODY_BYTES, inflate: false });

  router.post('/', requireJson, rawBody, (req, res) => {
    const route: Route = req.get('authorization') !== undefined ? 'bearer' : req.get('x-hub-signature-256') !== undefined ? 'hmac' : 'none';
    respond(deps.log, res, route, async () => {
      const raw = bodyOf(req);
      return handleReport(deps.core, await authenticate(deps, req, raw, route), parseJson(raw), {
        tokens: deps.tokenIds,
        builds: deps.buildReports,
      });
    });
  });
  router.post('/:token', requireJson, (req, res, next) => receiveNotification(deps, req, res, next));
  router.use(answerNoSuchEndpoint);
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => refuseUnreadRequest(deps.log, err, res, next));
  return router;
}

/**
 * The Notification plugin's route. The token is checked before a byte of the body is read (only a
 * project's own Jenkins may make the bot read up to MAX_NOTIFICATION_BYTES), and the body is read
 * dropping `build.log` (see notification-body.ts): the rest must fit in MAX_BODY_BYTES as everywhere.
 */
function receiveNotification(deps: JenkinsRouterDeps, req: Request, res: Response, next: NextFunction): void {
  const project = projectForUrlToken(String(req.params.token), deps.core.config.projects.values());
  if (!project) {
    // Not read: the connection is closed after the answer instead.
    res.set('Connection', 'close');
    respond(deps.log, res, 'url-token', () =>
      Promise.reject(
        unauthenticated("unknown notification token: use the URL with the token whose sha256 is the project's notification_token_sha256"),
      ),
    );
    return;
  }
  const stage = (body: Buffer) =>
    respond(deps.log, res, 'url-token', async () => handleReport(deps.core, { kind: 'url-token', project: project.name }, parseJson(body)));
  if (req.body !== undefined || req.readableEnded) {
    stage(bodyOf(req));
    return;
  }
  const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
  const length = Number(req.get('content-length') ?? NaN);
  if (encoding !== 'identity') return refuseUnread(res, 415, NOT_PLAIN_JSON);
  if (length > MAX_NOTIFICATION_BYTES) return refuseUnread(res, 413, NOTIFICATION_TOO_LARGE);
  readNotificationBody(req, { maxKept: MAX_BODY_BYTES, maxTotal: MAX_NOTIFICATION_BYTES }).then((read) => {
    if (read.kind === 'too-large') {
      if (read.what === 'total') return refuseUnread(res, 413, NOTIFICATION_TOO_LARGE);
      return refuse(res, 413, `the body without build.log is larger than ${MAX_BODY_BYTES} bytes`);
    }
    if (read.droppedBytes > 0)
      deps.log.debug({ component: 'jenkins', droppedLogBytes: read.droppedBytes }, 'jenkins notification: build.log dropped unread');
    stage(read.body);
  }, next);
}

/** Anything else under /webhooks/jenkins: answered here, so express' own pages never quote the path. */
function answerNoSuchEndpoint(req: Request, res: Response): void {
  const status = req.method === 'POST' ? 404 : 405;
  if (status === 405) res.set('Allow', 'POST');
  res.status(status).json({
    status: 'error',
    error: status === 404 ? 'no such endpoint: POST /webhooks/jenkins or /webhooks/jenkins/<token>' : 'only POST is accepted here',
  });
}

/** An error before the report was read (its body too large or compressed, a read error, a bad path). */
function refuseUnreadRequest(log: Logger, err: unknown, res: Response, next: NextFunction): void {
  if (res.headersSent) return next(err);
  const e = err as { type?: string; status?: number };
  if (e.type === 'entity.too.large') return refuse(res, 413, `the body is larger than ${MAX_BODY_BYTES} bytes`);
  if (e.type === 'encoding.unsupported') return refuse(res, 415, NOT_PLAIN_JSON);
  // Body read errors, bad percent-encoding in the path: never echo what was sent.
  const status = typeof e.status === 'number' && e.status >= 400 && e.status < 500 ? e.status : 500;
  log.warn(
    { component: 'jenkins', status, type: safeText(String(e.type ?? 'unknown'), 40) },
    'jenkins webhook: request refused before it was read',
  );
  refuse(res, status, status === 500 ? 'internal error' : 'the request could not be read');
}

/** Answers with the report's outcome, or with the coded error it was refused with (a 500's message stays in the log). */
function respond(log: Logger, res: Response, route: Route, work: () => Promise<Answer>): void {
  work().then(
    (answer) => {
      log.info(
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
      log[status >= 500 ? 'error' : 'warn'](
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

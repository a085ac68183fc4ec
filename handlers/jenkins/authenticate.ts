import { createHash } from 'node:crypto';
import type { Request } from 'express';
import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import type { Credential } from './handle-report.js';
import { verifyHubSignature } from './hmac.js';
import type { JenkinsRouterDeps } from './router.js';
import { verifyJenkinsJwt } from './verify-jwt.js';

/** How a report came in: what the log says of it. */
export type Route = 'bearer' | 'hmac' | 'url-token' | 'none';

/** What the credential checks of `POST /webhooks/jenkins` use of the router's dependencies. */
export type CredentialDeps = Pick<JenkinsRouterDeps, 'tokenIds' | 'keys' | 'policy' | 'webhookSecret' | 'now'>;

export const unauthenticated = (message: string) => new ReleaseBotError(ErrorCode.WebhookUnauthenticated, message);

/** The credential of a report sent to `POST /webhooks/jenkins`: a bearer JWT or an X-Hub-Signature-256 HMAC of the body. */
export async function authenticate(deps: CredentialDeps, req: Request, raw: Buffer, route: Route): Promise<Credential> {
  if (route === 'bearer') return authenticateBearer(deps, req, raw);
  if (route === 'hmac') {
    if (!deps.webhookSecret) throw unauthenticated('X-Hub-Signature-256 is not accepted: the bot has no JENKINS_WEBHOOK_SECRET');
    verifyHubSignature(raw, req.get('x-hub-signature-256'), deps.webhookSecret);
    return { kind: 'hmac' };
  }
  throw unauthenticated(
    'no credentials: send "Authorization: Bearer <JWT>" (release-bot notify does) or an X-Hub-Signature-256 HMAC of the body',
  );
}

async function authenticateBearer(deps: CredentialDeps, req: Request, raw: Buffer): Promise<Credential> {
  if (!deps.keys)
    throw unauthenticated('bearer tokens are not accepted: the bot has no JENKINS_JWT_SECRET, JENKINS_JWT_PUBLIC_KEY or JENKINS_JWKS_URL');
  const m = /^Bearer +([^ ]+) *$/i.exec(req.get('authorization') ?? '');
  if (!m) throw unauthenticated('the Authorization header must be "Bearer <JWT>"');
  const at = (deps.now ?? (() => new Date()))();
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

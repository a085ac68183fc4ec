import type { Router } from 'express';
import { ConfigError } from '../src/config/load.js';
import type { App } from '../src/app.js';
import { JenkinsBuildReports } from '../src/store/jenkins-build-reports.js';
import { UsedTokenIds } from '../src/store/token-ids.js';
import { jwtKeysFromEnv, MIN_SECRET_LENGTH, type JwtKeyOptions } from '../handlers/jenkins/jwt-keys.js';
import { createJenkinsRouter } from '../handlers/jenkins/router.js';
import { DEFAULT_POLICY } from '../handlers/jenkins/verify-jwt.js';

/**
 * The Jenkins webhook router for a running app, configured from its environment (JENKINS_*): the wiring
 * of the handler (handlers/jenkins/router.ts) to the store that remembers used tokens and reported builds.
 */
export function jenkinsRouter(app: App, options: JwtKeyOptions & { now?: () => Date } = {}): Router {
  const env = app.config.env;
  const secret = env.JENKINS_WEBHOOK_SECRET;
  if (secret !== undefined && secret.length < MIN_SECRET_LENGTH) {
    throw new ConfigError([
      `JENKINS_WEBHOOK_SECRET: is ${secret.length} characters long: use at least ${MIN_SECRET_LENGTH} random characters (openssl rand -hex 32)`,
    ]);
  }
  return createJenkinsRouter({
    core: app.core,
    tokenIds: new UsedTokenIds(app.db),
    buildReports: new JenkinsBuildReports(app.db),
    log: app.log.child({ component: 'jenkins' }),
    keys: jwtKeysFromEnv(env, options),
    policy: { ...DEFAULT_POLICY, audience: env.JENKINS_JWT_AUDIENCE, issuer: env.JENKINS_JWT_ISSUER },
    webhookSecret: secret,
    ...(options.now ? { now: options.now } : {}),
  });
}

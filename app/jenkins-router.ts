import type { Router } from 'express';
import { JenkinsBuildReports } from '../src/store/jenkins-build-reports.js';
import { UsedTokenIds } from '../src/store/token-ids.js';
import { jwtKeys, type JwtKeyOptions } from '../handlers/jenkins/jwt-keys.js';
import { jenkinsWebhookRouter } from '../handlers/jenkins/router.js';
import { DEFAULT_POLICY } from '../handlers/jenkins/verify-jwt.js';
import type { WiredApp } from './create.js';

/**
 * The Jenkins webhook router for a running app, from its settings (JENKINS_*) as the configuration
 * checked them at load (src/config/handler-settings.ts): the wiring of the handler (handlers/jenkins/router.ts)
 * to the store that remembers used tokens and reported builds. Nothing is refused here.
 */
export function jenkinsRouter(app: WiredApp, options: JwtKeyOptions & { now?: () => Date } = {}): Router {
  const settings = app.config.jenkins;
  return jenkinsWebhookRouter({
    core: app.core,
    tokenIds: new UsedTokenIds(app.db),
    buildReports: new JenkinsBuildReports(app.db),
    log: app.log.child({ component: 'jenkins' }),
    keys: jwtKeys(settings.keys, options),
    policy: { ...DEFAULT_POLICY, audience: settings.audience, issuer: settings.issuer },
    webhookSecret: settings.webhookSecret,
    ...(options.now ? { now: options.now } : {}),
  });
}

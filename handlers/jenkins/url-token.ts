import { createHash, timingSafeEqual } from 'node:crypto';
import type { ProjectConfig } from '../../src/config/load.js';

/** What a per-project Notification URL token looks like (e.g. `openssl rand -hex 32`). */
export const URL_TOKEN = /^[A-Za-z0-9_-]{32,256}$/;

/** The sha256 hex of a URL token: what `notification_token_sha256` in the projects file holds. */
export function hashUrlToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The project whose `notification_token_sha256` matches `token`, or undefined. Every project's hash is
 * compared, in constant time, whatever matched before: the time taken says nothing about which one did.
 */
export function projectForUrlToken(token: string, projects: Iterable<ProjectConfig>): ProjectConfig | undefined {
  if (!URL_TOKEN.test(token)) return undefined;
  const given = createHash('sha256').update(token, 'utf8').digest();
  let found: ProjectConfig | undefined;
  for (const project of projects) {
    if (!project.notification_token_sha256) continue;
    const expected = Buffer.from(project.notification_token_sha256, 'hex');
    if (expected.length === given.length && timingSafeEqual(given, expected) && found === undefined) found = project;
  }
  return found;
}

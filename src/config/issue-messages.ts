import type { z } from 'zod';
import { PROJECT_NAME } from '../validate.js';
import { projectSchema, projectsFileSchema, stagingSchema } from './schema.js';

/** A right value for each key a projects file commonly misses, as the example in its message. */
const EXAMPLES: Record<string, string> = {
  channel: 'channel: C0RELEASES',
  staging_dir: 'staging_dir: /srv/release-staging',
  identity: 'identity: { strategy: email-localpart, email_domains: [example.com] }',
  strategy: 'strategy: email-localpart',
  projects: 'projects: { conjur-cli: { ... } } (see releases.example.yml)',
  authorized_group: 'authorized_group: release/conjur-cli',
  jenkins_job: 'jenkins_job: conjur-cli',
  artifact: 'artifact: files',
  destinations: 'destinations: [{ name: downloads, type: exec, command: [/opt/release/publish, "{project}", "{version}", "{dir}"] }]',
  name: 'name: downloads',
  type: 'type: npm',
  repository: 'repository: conjur-cli',
  registry: 'registry: https://registry.npmjs.org/',
  path: 'path: /srv/downloads/{project}/{version}',
  command: 'command: [/opt/release/publish, "{project}", "{version}", "{dir}"]',
  host: 'host: downloads.example.com',
  known_hosts: 'known_hosts: "downloads.example.com ssh-ed25519 AAAA..."',
  app: 'app: conjur-cli-demo',
};

/** The keys allowed where an unknown key was found, so the message can list them. */
function keysAt(p: readonly PropertyKey[]): string[] | undefined {
  if (p.length === 0) return Object.keys(projectsFileSchema.shape);
  if (p.length === 1 && p[0] === 'identity') return Object.keys(projectsFileSchema.shape.identity.shape);
  if (p.length === 1 && p[0] === 'staging') return Object.keys(stagingSchema.shape);
  if (p.length === 2 && p[0] === 'projects') return Object.keys(projectSchema.shape);
  if (p.length === 3 && p[0] === 'projects' && p[2] === 'image') return ['repository', 'tls_verify'];
  return undefined;
}

export function formatPath(p: readonly PropertyKey[]): string {
  if (p.length === 0) return '(top level)';
  return p.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : `${i === 0 ? '' : '.'}${String(seg)}`)).join('');
}

/** One schema issue of the projects file in the operator's words: key path, what is wrong, a right value. */
export function projectsIssueMessage(issue: z.core.$ZodIssue, raw: unknown): string {
  const at = formatPath(issue.path);
  const last = issue.path[issue.path.length - 1];
  if (issue.code === 'invalid_key' && issue.path.length === 2 && issue.path[0] === 'projects') {
    const lower = String(last).toLowerCase();
    return `${at}: project names are lower-case letters, digits, '.', '_' and '-' (e.g. ${PROJECT_NAME.test(lower) ? lower : 'conjur-cli'})`;
  }
  if (issue.code === 'invalid_key') return `${at}: ${issue.issues[0]?.message ?? issue.message}`;
  if (issue.code === 'unrecognized_keys') {
    const allowed = keysAt(issue.path);
    const keys = issue.keys.map((k) => `"${k}"`).join(', ');
    return `${at}: unknown key${issue.keys.length > 1 ? 's' : ''} ${keys}${allowed ? `: the keys here are ${allowed.join(', ')}` : ''} (see releases.example.yml)`;
  }
  if (issue.code === 'invalid_type' && valueAt(raw, issue.path) === undefined) {
    const example = typeof last === 'string' ? EXAMPLES[last] : undefined;
    return `${at}: is missing: add it${example ? `, e.g. ${example}` : ' (see releases.example.yml)'}`;
  }
  if (issue.code === 'invalid_value') {
    return `${at}: ${JSON.stringify(valueAt(raw, issue.path))} is not allowed here: use one of ${issue.values.map((v) => String(v)).join(', ')}`;
  }
  if (issue.code === 'invalid_type') {
    return `${at}: ${JSON.stringify(valueAt(raw, issue.path))} is not a ${issue.expected}${typeof last === 'string' && EXAMPLES[last] ? `: e.g. ${EXAMPLES[last]}` : ' (see releases.example.yml)'}`;
  }
  return `${at}: ${issue.message}`;
}

function valueAt(raw: unknown, p: readonly PropertyKey[]): unknown {
  let node = raw;
  for (const seg of p) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[seg];
  }
  return node;
}

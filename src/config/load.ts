import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { assertCloudAccount, conjurCa, parseApplianceUrl } from '../conjur/appliance.js';
import { ErrorCode, ReleaseBotError } from '../errors.js';
import type { Redactor } from '../redact.js';
import {
  envSchema,
  projectsFileSchema,
  SECRET_ENV,
  type DestinationBase,
  type EnvInput,
  type ProjectConfigInput,
  type ProjectsFileInput,
} from './schema.js';

export type ArtifactKind = 'files' | 'docker';

/** What the config loader needs to know of a destination type; the publisher registry provides it. */
export interface DestinationTypeSpec {
  options: z.ZodType<Record<string, unknown>>;
  artifacts: readonly ArtifactKind[];
}

export interface DestinationConfig extends DestinationBase {
  /** The type-specific keys, as parsed by the destination type's own schema. */
  options: Record<string, unknown>;
}

export interface ProjectConfig extends Omit<ProjectConfigInput, 'destinations' | 'channel' | 'approver_group'> {
  name: string;
  channel: string;
  approver_group: string;
  destinations: DestinationConfig[];
}

export interface Config {
  env: EnvInput;
  configFile: string;
  /** sha256 (hex) of the projects file's bytes: the policy a release runs under, recorded with it. */
  policySha256: string;
  dataDir: string;
  stagingDir: string;
  /** Limits on reports and the quarantine's retention (`staging:`). */
  staging: ProjectsFileInput['staging'];
  channel: string;
  identity: ProjectsFileInput['identity'];
  /** Conjur group whose members may read the audit log in Slack (`audit_group`); anyone identified when absent. */
  auditGroup?: string | undefined;
  projects: ReadonlyMap<string, ProjectConfig>;
}

export class ConfigError extends ReleaseBotError {
  constructor(readonly problems: string[]) {
    super(ErrorCode.ConfigInvalid, `configuration is invalid:\n  - ${problems.join('\n  - ')}`, { details: { problems } });
  }
}

/** The Conjur URL, account and CA as the client will take them (Conjur Cloud's /api and account; one CA source). */
function conjurConnectionProblems(env: EnvInput): string[] {
  const problems: string[] = [];
  const check = (f: () => unknown) => {
    try {
      f();
    } catch (err) {
      problems.push(err instanceof Error ? err.message : String(err));
    }
  };
  check(() => assertCloudAccount(parseApplianceUrl(env.CONJUR_APPLIANCE_URL), env.CONJUR_ACCOUNT));
  check(() => conjurCa({ certFile: env.CONJUR_CERT_FILE, sslCertificate: env.CONJUR_SSL_CERTIFICATE }));
  return problems;
}

export interface LoadConfigOptions {
  /** Destination types by id; without it destination options are not checked. */
  destinationTypes?: ReadonlyMap<string, DestinationTypeSpec>;
  /** Secrets found in the environment are registered here. */
  redactor?: Redactor;
  cwd?: string;
  /**
   * The projects file's bytes, already read by the caller (a reload hashes exactly what it validates);
   * null when the caller found no file. Read from RELEASE_BOT_CONFIG when absent.
   */
  projectsFile?: Buffer | null;
}

const ENV_HINTS: Partial<Record<keyof EnvInput, string>> = {
  CONJUR_APPLIANCE_URL: 'put the URL of your Conjur server in .env (see .env.example)',
  CONJUR_ACCOUNT: 'put your Conjur account name in .env (see .env.example)',
  CONJUR_AUTHN_LOGIN: 'put the bot\'s Conjur identity (e.g. host/release-bot) in .env (see .env.example)',
};

/**
 * Reads the environment and the projects file through one schema and reports every problem at once,
 * each naming the variable or key path, what is wrong and how to fix it.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const cleanEnv = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== undefined && v !== ''));

  for (const key of SECRET_ENV) options.redactor?.add(cleanEnv[key]);

  const envResult = envSchema.safeParse(cleanEnv);
  if (!envResult.success) {
    for (const issue of envResult.error.issues) {
      const key = issue.path.join('.') as keyof EnvInput;
      const missing = issue.code === 'invalid_type' && cleanEnv[key] === undefined;
      const hint = ENV_HINTS[key] ?? 'see .env.example';
      problems.push(`${key}: ${missing ? 'is not set' : issue.message}: ${hint}`);
    }
  }
  const parsedEnv = envResult.success ? envResult.data : undefined;
  if (parsedEnv && !parsedEnv.CONJUR_AUTHN_API_KEY && !parsedEnv.CONJUR_AUTHN_TOKEN_FILE) {
    problems.push('CONJUR_AUTHN_API_KEY: neither it nor CONJUR_AUTHN_TOKEN_FILE is set: give the bot its Conjur API key, or the path of a token file kept fresh by an authenticator sidecar');
  }
  if (parsedEnv) problems.push(...conjurConnectionProblems(parsedEnv));
  if (parsedEnv?.RELEASE_BOT_MODE === 'demo') problems.push(...demoModeProblems(parsedEnv));

  const configFile = path.resolve(cwd, (cleanEnv.RELEASE_BOT_CONFIG as string | undefined) ?? './releases.yml');
  const bytes = options.projectsFile !== undefined ? options.projectsFile : readPolicyBytes(configFile, problems);
  const file = readProjectsFile(configFile, bytes, problems);
  const projects = new Map<string, ProjectConfig>();
  if (file) problems.push(...identityProblems(file.identity, path.basename(configFile)));
  if (file) {
    for (const [name, project] of Object.entries(file.projects)) {
      const checked = checkProject(name, project, options.destinationTypes, problems);
      projects.set(name, { ...checked, name, channel: project.channel ?? file.channel, approver_group: project.approver_group ?? project.authorized_group });
    }
  }

  if (problems.length > 0 || !parsedEnv || !file) throw new ConfigError(problems);
  const configDir = path.dirname(configFile);
  return {
    env: parsedEnv,
    configFile,
    policySha256: createHash('sha256').update(bytes as Buffer).digest('hex'),
    dataDir: path.resolve(cwd, parsedEnv.RELEASE_BOT_DATA_DIR),
    stagingDir: path.resolve(configDir, file.staging_dir),
    staging: file.staging,
    channel: file.channel,
    identity: file.identity,
    ...(file.audit_group ? { auditGroup: file.audit_group } : {}),
    projects,
  };
}

/**
 * The identity section's rules beyond the schema. email-localpart without email_domains would map
 * any verified address (alice@evil.example) onto the Conjur user alice, with her rights.
 */
function identityProblems(identity: ProjectsFileInput['identity'], label: string): string[] {
  const problems: string[] = [];
  if (identity.strategy === 'email-localpart' && !identity.email_domains) {
    problems.push(
      `${label}: identity.email_domains: is not set, and strategy email-localpart needs it: the Conjur login is the part of a Slack profile's email address before the @, so the bot must know which domains are your company's. Add them, e.g. \`identity: { strategy: email-localpart, email_domains: [example.com] }\`; an address in any other domain (or a subdomain not listed) is refused`,
    );
  }
  if (identity.enterprise_id && !identity.team_id) {
    problems.push(`${label}: identity.enterprise_id: is set without identity.team_id: set both (the workspace id T… and the organisation id E… of your Enterprise Grid), or neither to take them from Slack's auth.test at start`);
  }
  return problems;
}

/** The projects file's bytes; null when it does not exist (reported by the caller), undefined when unreadable. */
export function readPolicyBytes(configFile: string, problems: string[]): Buffer | null | undefined {
  try {
    return readFileSync(configFile);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    problems.push(`${path.basename(configFile)}: cannot be read: ${(err as Error).message}`);
    return undefined;
  }
}

function readProjectsFile(configFile: string, bytes: Buffer | null | undefined, problems: string[]): ProjectsFileInput | undefined {
  const label = path.basename(configFile);
  if (bytes === undefined) return undefined;
  if (bytes === null) {
    problems.push(`RELEASE_BOT_CONFIG: ${configFile} does not exist: create it (see releases.example.yml) or point RELEASE_BOT_CONFIG at your projects file`);
    return undefined;
  }
  let raw: unknown;
  try {
    const doc = YAML.parseDocument(bytes.toString('utf8'), { prettyErrors: true });
    if (doc.errors.length > 0) {
      for (const e of doc.errors) problems.push(`${label}: YAML syntax: ${e.message.split('\n')[0]}`);
      return undefined;
    }
    raw = doc.toJS();
  } catch (err) {
    problems.push(`${label}: cannot be read: ${(err as Error).message}`);
    return undefined;
  }
  const result = projectsFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${label}: ${formatPath(issue.path)}: ${issue.message}`);
    return undefined;
  }
  return result.data;
}

function checkProject(
  name: string,
  project: ProjectConfigInput,
  types: ReadonlyMap<string, DestinationTypeSpec> | undefined,
  problems: string[],
): Omit<ProjectConfig, 'name' | 'channel' | 'approver_group'> {
  const at = (suffix: string) => `projects.${name}.${suffix}`;
  if (project.artifact === 'docker' && !project.image) {
    problems.push(`${at('image')}: a docker project needs image.repository (where Jenkins pushes the image on the local registry)`);
  }
  const seen = new Set<string>();
  const destinations: DestinationConfig[] = project.destinations.map((dest, i) => {
    const { name: destName, type, credentials, timeout_seconds, retries, after, ...rest } = dest;
    const where = at(`destinations[${i}]`);
    if (seen.has(destName)) problems.push(`${where}.name: "${destName}" is used twice in this project: destination names must be unique`);
    seen.add(destName);
    let options: Record<string, unknown> = rest;
    const spec = types?.get(type);
    if (types && !spec) {
      problems.push(`${where}.type: unknown destination type "${type}": use one of ${[...types.keys()].sort().join(', ')}`);
    } else if (spec) {
      if (!spec.artifacts.includes(project.artifact)) {
        problems.push(`${where}.type: a "${type}" destination publishes ${spec.artifacts.join(' or ')} artifacts, and this project's artifact is ${project.artifact}`);
      }
      const parsed = spec.options.safeParse(rest);
      if (parsed.success) options = parsed.data;
      else for (const issue of parsed.error.issues) problems.push(`${where}.${formatPath(issue.path)}: ${issue.message}`);
    }
    return { name: destName, type, credentials, timeout_seconds, retries, after, options };
  });
  problems.push(...orderProblems(destinations, at));
  return { ...project, destinations };
}

/**
 * `after` names destinations of the same project, never itself, and never in a cycle: a cycle would
 * leave every destination in it waiting for the others, so the release could not finish.
 */
function orderProblems(destinations: readonly DestinationConfig[], at: (suffix: string) => string): string[] {
  const problems: string[] = [];
  const names = destinations.map((d) => d.name);
  const byName = new Map(destinations.map((d) => [d.name, d]));
  destinations.forEach((dest, i) => {
    dest.after.forEach((dep, j) => {
      const where = at(`destinations[${i}].after[${j}]`);
      if (dep === dest.name) problems.push(`${where}: "${dep}" is this destination itself: a destination cannot wait for itself; remove it from after`);
      else if (!byName.has(dep)) problems.push(`${where}: this project has no destination "${dep}": use one of ${names.filter((n) => n !== dest.name).join(', ') || '(none)'}`);
    });
  });
  // Depth-first search over the names that exist; each cycle is reported once, at its first member.
  const state = new Map<string, 'visiting' | 'done'>();
  const reported = new Set<string>();
  const visit = (name: string, trail: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') {
      const cycle = [...trail.slice(trail.indexOf(name)), name];
      const key = [...new Set(cycle)].sort().join('\0');
      if (!reported.has(key)) {
        reported.add(key);
        const first = cycle[0] as string;
        problems.push(`${at(`destinations[${names.indexOf(first)}].after`)}: ${cycle.map((n) => `"${n}"`).join(' waits for ')}: a cycle, so none of them could ever start; remove one of these names from an after list`);
      }
      return;
    }
    state.set(name, 'visiting');
    for (const dep of byName.get(name)?.after ?? []) if (dep !== name && byName.has(dep)) visit(dep, [...trail, name]);
    state.set(name, 'done');
  };
  for (const name of names) visit(name, []);
  return problems;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Demo mode runs against loopback stand-ins only: it must never reach a real Conjur (where the
 * production credentials are) nor a real Slack workspace.
 */
function demoModeProblems(env: EnvInput): string[] {
  const problems: string[] = [];
  const off = (key: string, why: string) => problems.push(`RELEASE_BOT_MODE: demo mode talks only to loopback stand-ins, and ${key} ${why}: unset RELEASE_BOT_MODE to use the real one`);
  const conjurHost = new URL(env.CONJUR_APPLIANCE_URL).hostname;
  if (!LOOPBACK.has(conjurHost)) off('CONJUR_APPLIANCE_URL', `points at ${conjurHost}`);
  if (env.SLACK_APP_TOKEN) off('SLACK_APP_TOKEN', 'is set (Socket Mode connects to Slack itself)');
  const slackHost = env.SLACK_API_URL ? new URL(env.SLACK_API_URL).hostname : undefined;
  if (env.SLACK_BOT_TOKEN && (!slackHost || !LOOPBACK.has(slackHost))) off('SLACK_API_URL', slackHost ? `points at ${slackHost}` : 'is not set (the default is Slack itself)');
  return problems;
}

function formatPath(p: readonly PropertyKey[]): string {
  if (p.length === 0) return '(top level)';
  return p.map((seg, i) => (typeof seg === 'number' ? `[${seg}]` : `${i === 0 ? '' : '.'}${String(seg)}`)).join('');
}

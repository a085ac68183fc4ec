import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import type { z } from 'zod';
import { assertCloudAccount, conjurCa, parseApplianceUrl } from '../conjur/appliance.js';
import { ConfigError } from '../errors.js';

export { ConfigError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { envValueMessage, envValueProblems } from './env-checks.js';
import { directoryProblem, programProblem } from './host-checks.js';
import { projectsIssueMessage } from './issue-messages.js';
import {
  envSchema,
  projectsFileSchema,
  SECRET_ENV,
  type DestinationBase,
  type EnvInput,
  type ProjectConfigInput,
  type ProjectsFileInput,
  type ProvenanceInput,
} from './schema.js';

export type ArtifactKind = 'files' | 'docker';

/** What the config loader needs to know of a destination type; the publisher registry provides it. */
export interface DestinationTypeSpec {
  options: z.ZodType<Record<string, unknown>>;
  artifacts: readonly ArtifactKind[];
  /** Programs a destination runs (some depend on its options); checked on PATH when asked. */
  tools?: readonly string[] | ((options: never) => readonly string[]);
  /** The credential names the publisher reads; absent for types that take any (exec). */
  credentials?: { required: readonly string[]; optional?: readonly string[] };
}

export interface DestinationConfig extends DestinationBase {
  /** The type-specific keys, as parsed by the destination type's own schema. */
  options: Record<string, unknown>;
}

export interface ProjectConfig extends Omit<ProjectConfigInput, 'destinations' | 'channel' | 'approver_group' | 'provenance'> {
  name: string;
  channel: string;
  approver_group: string;
  destinations: DestinationConfig[];
  /** Signed provenance: the project's `provenance` over the file's; absent when no signing key is named. */
  provenance?: ProjectProvenance | undefined;
}

export interface ProjectProvenance {
  /** The Conjur variable holding the Ed25519 private key (PKCS#8 PEM). */
  signing_key: string;
  /** The destination of this project that keeps the attestations of npm and rubygems destinations. */
  store?: string | undefined;
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
  /** The file's own `provenance` section (each project's resolved one is on the project). */
  provenance?: ProvenanceInput | undefined;
  /** What works but should not be so (http:// Conjur in production); printed, never refused. */
  warnings: string[];
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
  /**
   * Also check that every program a destination runs (an exec command, npm, skopeo...) is found on
   * the environment's PATH, as check-config does; off for serve, whose releases report it.
   */
  checkPrograms?: boolean;
}

const ENV_HINTS: Partial<Record<keyof EnvInput, string>> = {
  CONJUR_APPLIANCE_URL: 'put the URL of your Conjur server in .env (see .env.example)',
  CONJUR_ACCOUNT: 'put your Conjur account name in .env (see .env.example)',
  CONJUR_AUTHN_LOGIN: "put the bot's Conjur identity (e.g. host/release-bot) in .env (see .env.example)",
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
  const refused = new Set<string>();
  if (!envResult.success) {
    for (const issue of envResult.error.issues) {
      const key = issue.path.join('.') as keyof EnvInput;
      refused.add(key);
      const missing = issue.code === 'invalid_type' && cleanEnv[key] === undefined;
      const hint = ENV_HINTS[key] ?? 'see .env.example';
      problems.push(missing ? `${key}: is not set: ${hint}` : envValueMessage(key, String(cleanEnv[key]), issue.message));
    }
  }
  const parsedEnv = envResult.success ? envResult.data : undefined;
  if (parsedEnv && !parsedEnv.CONJUR_AUTHN_API_KEY && !parsedEnv.CONJUR_AUTHN_TOKEN_FILE) {
    problems.push(
      'CONJUR_AUTHN_API_KEY: neither it nor CONJUR_AUTHN_TOKEN_FILE is set: give the bot its Conjur API key, or the path of a token file kept fresh by an authenticator sidecar',
    );
  }
  // The checks below read the raw values, so one refused variable does not hide the others' problems.
  const values = envValueProblems(Object.fromEntries(Object.entries(cleanEnv).filter(([k]) => !refused.has(k))) as Record<string, string>);
  problems.push(...values.problems);
  if (parsedEnv) problems.push(...conjurConnectionProblems(parsedEnv));
  const dataProblem = directoryProblem(
    'RELEASE_BOT_DATA_DIR',
    path.resolve(cwd, (cleanEnv.RELEASE_BOT_DATA_DIR as string | undefined) ?? './data'),
    'RELEASE_BOT_DATA_DIR=/var/lib/release-bot/data',
  );
  if (dataProblem) problems.push(dataProblem);
  if (parsedEnv?.RELEASE_BOT_MODE === 'demo') problems.push(...demoModeProblems(parsedEnv));

  const configFile = path.resolve(cwd, (cleanEnv.RELEASE_BOT_CONFIG as string | undefined) ?? './releases.yml');
  const bytes = options.projectsFile !== undefined ? options.projectsFile : readPolicyBytes(configFile, problems);
  const file = readProjectsFile(configFile, bytes, problems);
  const projects = new Map<string, ProjectConfig>();
  const label = path.basename(configFile);
  if (file) problems.push(...identityProblems(file.identity, label));
  if (file) {
    const stagingProblem = directoryProblem(
      `${label}: staging_dir`,
      path.resolve(path.dirname(configFile), file.staging_dir),
      'staging_dir: /srv/release-staging',
    );
    if (stagingProblem) problems.push(stagingProblem);
    const programs = options.checkPrograms ? ((cleanEnv.PATH as string | undefined) ?? '') : undefined;
    for (const [name, project] of Object.entries(file.projects)) {
      const { provenance: _own, ...checked } = checkProject(name, project, { label, types: options.destinationTypes, programs }, problems);
      const provenance = projectProvenance(name, project, file.provenance, label, problems);
      projects.set(name, {
        ...checked,
        name,
        channel: project.channel ?? file.channel,
        approver_group: project.approver_group ?? project.authorized_group,
        ...(provenance ? { provenance } : {}),
      });
    }
  }

  if (problems.length > 0 || !parsedEnv || !file) throw new ConfigError(problems);
  const configDir = path.dirname(configFile);
  return {
    env: parsedEnv,
    configFile,
    policySha256: createHash('sha256')
      .update(bytes as Buffer)
      .digest('hex'),
    dataDir: path.resolve(cwd, parsedEnv.RELEASE_BOT_DATA_DIR),
    stagingDir: path.resolve(configDir, file.staging_dir),
    staging: file.staging,
    channel: file.channel,
    identity: file.identity,
    ...(file.audit_group ? { auditGroup: file.audit_group } : {}),
    ...(file.provenance ? { provenance: file.provenance } : {}),
    projects,
    warnings: values.warnings,
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
    problems.push(
      `${label}: identity.enterprise_id: is set without identity.team_id: set both (the workspace id T… and the organisation id E… of your Enterprise Grid), or neither to take them from Slack's auth.test at start`,
    );
  }
  return problems;
}

/** Types whose publisher cannot hold an attestation beside what it pushes: theirs go to provenance.store. */
const NEEDS_STORE = new Set(['npm', 'rubygems']);
const STORE_TYPES = new Set(['directory', 'ssh']);

/**
 * A project's provenance settings (its own over the file's), checked: the store must be a directory or
 * ssh destination of the project, and a project with an npm or rubygems destination needs one, or its
 * release would fail after publishing, when the attestation has nowhere to go.
 */
function projectProvenance(
  name: string,
  project: ProjectConfigInput,
  top: ProvenanceInput | undefined,
  label: string,
  problems: string[],
): ProjectProvenance | undefined {
  const signingKey = project.provenance?.signing_key ?? top?.signing_key;
  const store = project.provenance?.store ?? top?.store;
  if (!signingKey) return undefined;
  const where = `${label}: projects.${name}.provenance.store`;
  if (store !== undefined) {
    const dest = project.destinations.find((d) => d.name === store);
    if (!dest || !STORE_TYPES.has(dest.type)) {
      const candidates = project.destinations.filter((d) => STORE_TYPES.has(d.type)).map((d) => d.name);
      problems.push(
        `${where}: "${store}" is not a directory or ssh destination of ${name}: name one of ${candidates.join(', ') || '(none: add a directory or ssh destination to keep the attestations)'}`,
      );
    }
  } else {
    const needing = project.destinations.filter((d) => NEEDS_STORE.has(d.type)).map((d) => d.name);
    if (needing.length > 0)
      problems.push(
        `${where}: is not set, and ${needing.join(', ')} cannot carry an attestation: name a directory or ssh destination of ${name} to keep it, e.g. provenance: { store: downloads }`,
      );
  }
  return { signing_key: signingKey, ...(store !== undefined ? { store } : {}) };
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
    problems.push(
      `RELEASE_BOT_CONFIG: ${configFile} does not exist: create it (see releases.example.yml) or point RELEASE_BOT_CONFIG at your projects file`,
    );
    return undefined;
  }
  let raw: unknown;
  try {
    const doc = YAML.parseDocument(bytes.toString('utf8'), { prettyErrors: true });
    if (doc.errors.length > 0) {
      const lines = bytes.toString('utf8').split(/\r?\n/);
      // The first error only: the ones after it are mostly the parser losing its place because of it.
      const [first, ...rest] = doc.errors as [YAML.YAMLError, ...YAML.YAMLError[]];
      problems.push(
        `${yamlProblem(label, first, lines)}${rest.length > 0 ? ' (fix it and run again: what follows may be read differently)' : ''}`,
      );
      return undefined;
    }
    raw = doc.toJS();
  } catch (err) {
    problems.push(`${label}: cannot be read: ${(err as Error).message}`);
    return undefined;
  }
  const result = projectsFileSchema.safeParse(raw ?? {});
  if (!result.success) {
    for (const issue of result.error.issues) problems.push(`${label}: ${projectsIssueMessage(issue, raw)}`);
    return undefined;
  }
  return result.data;
}

interface ProjectCheckOptions {
  /** The projects file's name, the prefix of every problem found in it. */
  label: string;
  types: ReadonlyMap<string, DestinationTypeSpec> | undefined;
  /** PATH to find the programs destinations run on; undefined: not checked. */
  programs: string | undefined;
}

function checkProject(
  name: string,
  project: ProjectConfigInput,
  { label, types, programs }: ProjectCheckOptions,
  problems: string[],
): Omit<ProjectConfig, 'name' | 'channel' | 'approver_group' | 'provenance'> & Pick<ProjectConfigInput, 'provenance'> {
  const at = (suffix: string) => `${label}: projects.${name}.${suffix}`;
  if (programs !== undefined && project.artifact === 'docker') {
    const problem = programProblem(`${at('artifact')} (docker: staged images are inspected with skopeo)`, 'skopeo', programs);
    if (problem) problems.push(problem);
  }
  if (project.artifact === 'docker' && !project.image) {
    problems.push(`${at('image')}: a docker project needs image.repository (where Jenkins pushes the image on the local registry)`);
  }
  const seen = new Set<string>();
  const destinations: DestinationConfig[] = project.destinations.map((dest, i) => {
    const { name: destName, type, credentials, timeout_seconds, retries, after, ...rest } = dest;
    const where = at(`destinations[${i}]`);
    if (seen.has(destName))
      problems.push(
        `${where}.name: "${destName}" is used twice in this project: destination names must be unique: rename one, e.g. name: ${destName}-2`,
      );
    seen.add(destName);
    let options: Record<string, unknown> = rest;
    const spec = types?.get(type);
    if (types && !spec) {
      problems.push(`${where}.type: unknown destination type "${type}": use one of ${[...types.keys()].sort().join(', ')}`);
    } else if (spec) {
      if (!spec.artifacts.includes(project.artifact)) {
        problems.push(
          `${where}.type: a "${type}" destination publishes ${spec.artifacts.join(' or ')} artifacts, and this project's artifact is ${project.artifact}`,
        );
      }
      const parsed = spec.options.safeParse(rest);
      if (parsed.success) options = parsed.data;
      else {
        // The type's own keys get the same wording as the file's: the issue placed at its full key path.
        const raw = { projects: { [name]: { destinations: { [i]: rest } } } };
        for (const issue of parsed.error.issues)
          problems.push(`${label}: ${projectsIssueMessage({ ...issue, path: ['projects', name, 'destinations', i, ...issue.path] }, raw)}`);
      }
      problems.push(...credentialProblems(where, type, credentials, spec));
      if (programs !== undefined && parsed.success) problems.push(...destinationProgramProblems(where, type, options, spec, programs));
    }
    return { name: destName, type, credentials, timeout_seconds, retries, after, options };
  });
  problems.push(...orderProblems(destinations, at));
  return { ...project, destinations };
}

/**
 * A credential the publisher never reads is a typo (NPM_TOKN) whose release would fail at its
 * publish step, after the other destinations published: refuse it here, before anything runs.
 */
function credentialProblems(where: string, type: string, credentials: Record<string, string>, spec: DestinationTypeSpec): string[] {
  if (!spec.credentials) return [];
  const { required, optional = [] } = spec.credentials;
  const known = [...required, ...optional];
  const example = (n: string) => `credentials: { ${n}: release/${type}/${n.toLowerCase().replace(/_/g, '-')} }`;
  const problems: string[] = [];
  for (const n of Object.keys(credentials)) {
    if (known.includes(n)) continue;
    const needs =
      required.length > 0
        ? `${type} needs ${required.join(' and ')}`
        : known.length > 0
          ? `${type} reads only ${known.join(', ')}`
          : `${type} takes no credentials`;
    problems.push(
      `${where}.credentials.${n}: ${type} destinations do not read ${n}: ${needs}${known.length > 0 ? `, e.g. ${example(known[0] as string)}` : ': remove it'}`,
    );
  }
  const missing = required.filter((n) => !(n in credentials));
  // A mistyped name already said what is needed: one message for one mistake.
  if (missing.length > 0 && problems.length === 0)
    problems.push(
      `${where}.credentials: ${type} needs ${missing.join(' and ')}: map ${missing.length > 1 ? 'them' : 'it'} to a Conjur variable, e.g. ${example(missing[0] as string)}`,
    );
  return problems;
}

/** Every program this destination runs must be there: an exec command or a type's tools (npm, skopeo...). */
function destinationProgramProblems(
  where: string,
  type: string,
  options: Record<string, unknown>,
  spec: DestinationTypeSpec,
  pathVar: string,
): string[] {
  const problems: string[] = [];
  const command = type === 'exec' && Array.isArray(options.command) ? (options.command[0] as string | undefined) : undefined;
  // A placeholder ({dir}/publish.sh) names a file that exists only during the release.
  if (command !== undefined && !command.includes('{')) {
    const problem = programProblem(`${where}.command[0]`, command, pathVar);
    if (problem) problems.push(problem);
  }
  // A yank script missing would only show when a bad release must be taken back.
  const yank = type === 'exec' && Array.isArray(options.yank_command) ? (options.yank_command[0] as string | undefined) : undefined;
  if (yank !== undefined && !yank.includes('{')) {
    const problem = programProblem(`${where}.yank_command[0]`, yank, pathVar);
    if (problem) problems.push(problem);
  }
  const tools =
    typeof spec.tools === 'function' ? (spec.tools as (o: Record<string, unknown>) => readonly string[])(options) : (spec.tools ?? []);
  for (const tool of tools) {
    const problem = programProblem(`${where} (${type})`, tool, pathVar);
    if (problem) problems.push(problem);
  }
  return problems;
}

/** A YAML error with where it is and the text of that line, so the operator need not count lines. */
function yamlProblem(label: string, e: YAML.YAMLError, lines: readonly string[]): string {
  const what = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
  const pos = e.linePos?.[0];
  if (!pos) return `${label}: YAML syntax error: ${what}`;
  return `${label}: YAML syntax error at line ${pos.line}, column ${pos.col}: ${what}; the line reads: ${JSON.stringify(lines[pos.line - 1] ?? '')}`;
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
      if (dep === dest.name)
        problems.push(`${where}: "${dep}" is this destination itself: a destination cannot wait for itself; remove it from after`);
      else if (!byName.has(dep))
        problems.push(
          `${where}: this project has no destination "${dep}": use one of ${names.filter((n) => n !== dest.name).join(', ') || '(none)'}`,
        );
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
        problems.push(
          `${at(`destinations[${names.indexOf(first)}].after`)}: ${cycle.map((n) => `"${n}"`).join(' waits for ')}: a cycle, so none of them could ever start; remove one of these names from an after list`,
        );
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
  const off = (key: string, why: string) =>
    problems.push(
      `RELEASE_BOT_MODE: demo mode talks only to loopback stand-ins, and ${key} ${why}: unset RELEASE_BOT_MODE to use the real one`,
    );
  const conjurHost = new URL(env.CONJUR_APPLIANCE_URL).hostname;
  if (!LOOPBACK.has(conjurHost)) off('CONJUR_APPLIANCE_URL', `points at ${conjurHost}`);
  if (env.SLACK_APP_TOKEN) off('SLACK_APP_TOKEN', 'is set (Socket Mode connects to Slack itself)');
  const slackHost = env.SLACK_API_URL ? new URL(env.SLACK_API_URL).hostname : undefined;
  if (env.SLACK_BOT_TOKEN && (!slackHost || !LOOPBACK.has(slackHost)))
    off('SLACK_API_URL', slackHost ? `points at ${slackHost}` : 'is not set (the default is Slack itself)');
  return problems;
}

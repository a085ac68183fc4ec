import { createHash } from 'node:crypto';
import path from 'node:path';
import { ConfigError } from '../errors.js';
import type { Redactor } from '../redact.js';
import { readEnv } from './env-load.js';
import { directoryProblem } from './host-checks.js';
import { checkProject, projectProvenance } from './project-checks.js';
import { identityProblems, readPolicyBytes, readProjectsFile } from './projects-file.js';
import { SECRET_ENV, type ProjectsFileInput } from './schema.js';
import type { Config, DestinationTypeSpec, ProjectConfig } from './types.js';

export { ConfigError } from '../errors.js';
export { readPolicyBytes } from './projects-file.js';
export type { ArtifactKind, Config, DestinationConfig, DestinationTypeSpec, ProjectConfig, ProjectProvenance } from './types.js';

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

/**
 * Reads the environment and the projects file through one schema and reports every problem at once,
 * each naming the variable or key path, what is wrong and how to fix it. The handlers' settings (Slack,
 * the Jenkins webhook) are part of it: what `serve` mounts is checked here, by every command alike.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const problems: string[] = [];
  const cleanEnv = Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[1] !== undefined && e[1] !== ''));
  for (const key of SECRET_ENV) options.redactor?.add(cleanEnv[key]);

  const read = readEnv(cleanEnv, cwd, problems);
  const configFile = path.resolve(cwd, cleanEnv.RELEASE_BOT_CONFIG ?? './releases.yml');
  const bytes = options.projectsFile !== undefined ? options.projectsFile : readPolicyBytes(configFile, problems);
  const file = readProjectsFile(configFile, bytes, problems);
  const projects = file ? checkProjectsFile(configFile, file, { ...options, pathVar: cleanEnv.PATH ?? '' }, problems) : undefined;

  if (problems.length > 0 || !read.env || !file || !projects || !bytes) throw new ConfigError(problems);
  return {
    env: read.env,
    configFile,
    policySha256: createHash('sha256').update(bytes).digest('hex'),
    dataDir: path.resolve(cwd, read.env.RELEASE_BOT_DATA_DIR),
    stagingDir: path.resolve(path.dirname(configFile), file.staging_dir),
    staging: file.staging,
    channel: file.channel,
    identity: file.identity,
    ...(file.audit_group ? { auditGroup: file.audit_group } : {}),
    ...(file.provenance ? { provenance: file.provenance } : {}),
    projects,
    warnings: read.warnings,
    ...(read.handlers.slack ? { slack: read.handlers.slack } : {}),
    jenkins: read.handlers.jenkins,
  };
}

/** The projects file's rules beyond its schema: identity, the staging directory, each project and destination. */
function checkProjectsFile(
  configFile: string,
  file: ProjectsFileInput,
  options: LoadConfigOptions & { pathVar: string },
  problems: string[],
): Map<string, ProjectConfig> {
  const label = path.basename(configFile);
  problems.push(...identityProblems(file.identity, label));
  const stagingProblem = directoryProblem(
    `${label}: staging_dir`,
    path.resolve(path.dirname(configFile), file.staging_dir),
    'staging_dir: /srv/release-staging',
  );
  if (stagingProblem) problems.push(stagingProblem);
  const programs = options.checkPrograms ? options.pathVar : undefined;
  const projects = new Map<string, ProjectConfig>();
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
  return projects;
}

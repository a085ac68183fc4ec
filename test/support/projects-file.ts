/**
 * The projects file of a test, typed by the product's own schemas (src/config/schema.ts for the file,
 * the project and a destination's common keys; each destination type's own option schema in
 * publishers/) and written as YAML by the yaml package, so no test writes YAML as string arrays and
 * none gets its indentation or quoting wrong. A key the product does not know does not compile.
 * A test about malformed or hostile YAML writes its raw text instead: that text is what it tests.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { z } from 'zod';
import type { directoryPublisher } from '../../publishers/directory.js';
import type { dockerPublisher } from '../../publishers/docker.js';
import type { execPublisher } from '../../publishers/exec.js';
import type { githubPublisher } from '../../publishers/github.js';
import type { herokuPublisher } from '../../publishers/heroku.js';
import type { npmPublisher } from '../../publishers/npm.js';
import type { rubygemsPublisher } from '../../publishers/rubygems.js';
import type { sshPublisher } from '../../publishers/ssh.js';
import type { destinationBaseSchema, projectSchema, projectsFileSchema } from '../../src/config/schema.js';

/** The destination types of publishers/registry.ts, each with the options its own schema parses. */
interface DestinationTypes {
  exec: typeof execPublisher;
  directory: typeof directoryPublisher;
  docker: typeof dockerPublisher;
  ssh: typeof sshPublisher;
  npm: typeof npmPublisher;
  rubygems: typeof rubygemsPublisher;
  github: typeof githubPublisher;
  heroku: typeof herokuPublisher;
}
type OptionsOf<P> = P extends { options: z.ZodType<infer O> } ? O : never;
/** A destination's common keys (credentials, retries, timeout_seconds, after) as the file may give them. */
export type DestinationCommon = Omit<z.input<typeof destinationBaseSchema>, 'name' | 'type'>;

/**
 * One destination of a registered type: its name, type, common keys and that type's options. Options
 * with a default may be left out (the schema's output type is the only one the registry exposes, so
 * every option is optional here; the loader still refuses a missing required one).
 */
export type DestinationSpec = {
  [T in keyof DestinationTypes]: { name: string; type: T } & DestinationCommon & Partial<OptionsOf<DestinationTypes[T]>>;
}[keyof DestinationTypes];

const TEST_TYPE: unique symbol = Symbol('a destination type a test registers');
/** A destination of a type the test registers itself (a recording or scripted publisher): see testDestination. */
export interface TestTypeDestination extends DestinationCommon {
  name: string;
  type: string;
  readonly [TEST_TYPE]: Record<string, unknown>;
}

/**
 * A destination of a type the test defines and registers (makeCore's extra publishers), typed by that
 * definition's own options.
 */
export function testDestination<O extends Record<string, unknown>>(
  def: { type: string; options: z.ZodType<O> },
  name: string,
  options: Partial<O> = {},
  common: DestinationCommon = {},
): TestTypeDestination {
  return { name, type: def.type, ...common, [TEST_TYPE]: options };
}

type FileProject = z.input<typeof projectSchema>;
/** One project of the file: the product's keys, with typed destinations. */
export type ProjectSpec = Omit<FileProject, 'destinations'> & { destinations: Array<DestinationSpec | TestTypeDestination> };
/** The whole file: the product's keys, with typed projects. */
export type ProjectsFileSpec = Omit<z.input<typeof projectsFileSchema>, 'projects'> & { projects: Record<string, ProjectSpec> };

/** A `files` project released by the members of release/<name> and reported by the Jenkins job <name>; `more` overrides. */
export function project(name: string, destinations: ProjectSpec['destinations'], more: Partial<ProjectSpec> = {}): ProjectSpec {
  return { authorized_group: `release/${name}`, jenkins_job: name, artifact: 'files', ...more, destinations };
}

/** The file's parts a test may leave out: channel C0RELEASES and an empty identity map. */
export type ProjectsFileInput = Partial<ProjectsFileSpec> & Pick<ProjectsFileSpec, 'staging_dir' | 'projects'>;

/** The file's YAML: channel C0RELEASES and an empty identity map unless given. */
export function projectsYaml(file: ProjectsFileInput): string {
  const defaults: Pick<ProjectsFileSpec, 'channel' | 'identity'> = { channel: 'C0RELEASES', identity: { strategy: 'map', map: {} } };
  const projects = Object.fromEntries(
    Object.entries(file.projects).map(([name, p]) => [name, { ...p, destinations: p.destinations.map(plainDestination) }]),
  );
  return stringify({ ...defaults, ...file, projects });
}

/** A destination as the file holds it: a test type's options beside its common keys. */
function plainDestination(d: DestinationSpec | TestTypeDestination): Record<string, unknown> {
  if (!(TEST_TYPE in d)) return d;
  const { [TEST_TYPE]: options, ...common } = d;
  return { ...common, ...options };
}

export function writeProjectsFile(file: string, spec: ProjectsFileInput): void {
  writeFileSync(file, projectsYaml(spec));
}

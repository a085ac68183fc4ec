/**
 * The projects file of a test, typed by the product's own schema (src/config/schema.ts: what a test
 * writes is checked against the keys the bot reads) and written as YAML by the yaml package, so no test
 * writes YAML as string arrays and none gets its indentation or quoting wrong.
 */
import { writeFileSync } from 'node:fs';
import { stringify } from 'yaml';
import type { z } from 'zod';
import type { projectSchema, projectsFileSchema } from '../../src/config/schema.js';

export type ProjectsFileSpec = z.input<typeof projectsFileSchema>;
export type ProjectSpec = z.input<typeof projectSchema>;
export type DestinationSpec = ProjectSpec['destinations'][number];

/** A `files` project released by the members of release/<name> and reported by the Jenkins job <name>; `more` overrides. */
export function project(name: string, destinations: DestinationSpec[], more: Partial<ProjectSpec> = {}): ProjectSpec {
  return { authorized_group: `release/${name}`, jenkins_job: name, artifact: 'files', ...more, destinations };
}

/** The file's YAML: channel C0RELEASES and an empty identity map unless given. */
export function projectsYaml(file: Partial<ProjectsFileSpec> & Pick<ProjectsFileSpec, 'staging_dir' | 'projects'>): string {
  const defaults: Pick<ProjectsFileSpec, 'channel' | 'identity'> = { channel: 'C0RELEASES', identity: { strategy: 'map', map: {} } };
  return stringify({ ...defaults, ...file });
}

export function writeProjectsFile(file: string, spec: Parameters<typeof projectsYaml>[0]): void {
  writeFileSync(file, projectsYaml(spec));
}

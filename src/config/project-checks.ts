import { programProblem } from './host-checks.js';
import { projectsIssueMessage } from './issue-messages.js';
import type { ProjectConfigInput, ProvenanceInput } from './schema.js';
import type { DestinationConfig, DestinationTypeSpec, ProjectConfig, ProjectProvenance } from './types.js';

export interface ProjectCheckOptions {
  /** The projects file's name, the prefix of every problem found in it. */
  label: string;
  types: ReadonlyMap<string, DestinationTypeSpec> | undefined;
  /** PATH to find the programs destinations run on; undefined: not checked. */
  programs: string | undefined;
}

export function checkProject(
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

/** Types whose publisher cannot hold an attestation beside what it pushes: theirs go to provenance.store. */
const NEEDS_STORE = new Set(['npm', 'rubygems']);
const STORE_TYPES = new Set(['directory', 'ssh']);

/**
 * A project's provenance settings (its own over the file's), checked: the store must be a directory or
 * ssh destination of the project, and a project with an npm or rubygems destination needs one, or its
 * release would fail after publishing, when the attestation has nowhere to go.
 */
export function projectProvenance(
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

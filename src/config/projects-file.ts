import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Yaml from 'yaml';
import { projectsIssueMessage } from './issue-messages.js';
import { projectsFileSchema, type ProjectsFileInput } from './schema.js';

/** yaml is CommonJS: required, it loads faster than imported (no export scan), at every command's start. */
const YAML = createRequire(import.meta.url)('yaml') as typeof Yaml;

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

export function readProjectsFile(configFile: string, bytes: Buffer | null | undefined, problems: string[]): ProjectsFileInput | undefined {
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
      const [first, ...rest] = doc.errors as [Yaml.YAMLError, ...Yaml.YAMLError[]];
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

/** A YAML error with where it is and the text of that line, so the operator need not count lines. */
function yamlProblem(label: string, e: Yaml.YAMLError, lines: readonly string[]): string {
  const what = (e.message.split('\n')[0] ?? e.message).replace(/ at line \d+, column \d+:?$/, '');
  const pos = e.linePos?.[0];
  if (!pos) return `${label}: YAML syntax error: ${what}`;
  return `${label}: YAML syntax error at line ${pos.line}, column ${pos.col}: ${what}; the line reads: ${JSON.stringify(lines[pos.line - 1] ?? '')}`;
}

/**
 * The identity section's rules beyond the schema. email-localpart without email_domains would map
 * any verified address (alice@evil.example) onto the Conjur user alice, with her rights.
 */
export function identityProblems(identity: ProjectsFileInput['identity'], label: string): string[] {
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

import { PROJECT_NAME, VERSION, clip } from '../../src/validate.js';

export type SlackCommand =
  | { kind: 'help' }
  | { kind: 'release'; project: string; version: string; dryRun: boolean; resume: boolean }
  | { kind: 'list'; project?: string | undefined }
  | { kind: 'status'; project: string; version?: string | undefined }
  | { kind: 'audit'; project?: string | undefined; limit: number }
  | { kind: 'lock'; project: string; reason: string }
  | { kind: 'unlock'; project: string }
  | { kind: 'yank'; project: string; version: string; reason: string; dryRun: boolean; noLock: boolean }
  | { kind: 'rollback'; project: string; text: string; dryRun: boolean; noLock: boolean }
  /** Unknown or malformed: `problem` says what, for a short usage reply. */
  | { kind: 'usage'; problem: string };

export const AUDIT_DEFAULT_LIMIT = 10;
export const AUDIT_MAX_LIMIT = 50;
const MAX_TEXT = 500;

const isProject = (s: string) => PROJECT_NAME.test(s) && !s.includes('..');
const isVersion = (s: string) => VERSION.test(s) && !s.includes('..');
const show = (s: string) => JSON.stringify(clip(s, 40));

/**
 * Parses the text of `/release` (Slack sends it with `&`, `<`, `>` escaped). Pure: no lookups, so a
 * project name is only checked for its form here; whether it exists is the core's answer.
 */
export function parseCommand(raw: string): SlackCommand {
  const text = raw.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').trim();
  if (text.length > MAX_TEXT) return usage(`that is ${text.length} characters: a command is a few words`);
  const words = text.split(/\s+/).filter(Boolean);
  const [first, ...rest] = words;
  if (first === undefined) return { kind: 'help' };
  switch (first.toLowerCase()) {
    case 'help':
      return rest.length === 0 ? { kind: 'help' } : usage('`help` takes no arguments');
    case 'list': {
      if (rest.length > 1) return usage('usage: `/release list [project]`');
      const project = rest[0];
      if (project !== undefined && !isProject(project)) return usage(`invalid project name ${show(project)}`);
      return { kind: 'list', project };
    }
    case 'status': {
      const [project, version, ...extra] = rest;
      if (project === undefined || extra.length > 0) return usage('usage: `/release status <project> [version]`');
      if (!isProject(project)) return usage(`invalid project name ${show(project)}`);
      if (version !== undefined && !isVersion(version)) return usage(`invalid version ${show(version)}`);
      return { kind: 'status', project, version };
    }
    case 'audit':
      return parseAudit(rest);
    case 'lock': {
      const [project] = rest;
      if (project === undefined || rest.length < 2) return usage('usage: `/release lock <project> <reason>`: say why');
      if (!isProject(project)) return usage(`invalid project name ${show(project)}`);
      // The reason is the rest of the text as typed (whitespace collapsed), not re-joined words.
      const reason = text
        .slice(text.indexOf(project, first.length) + project.length)
        .replace(/\s+/g, ' ')
        .trim();
      return { kind: 'lock', project, reason };
    }
    case 'unlock': {
      const [project, ...extra] = rest;
      if (project === undefined || extra.length > 0) return usage('usage: `/release unlock <project>`');
      if (!isProject(project)) return usage(`invalid project name ${show(project)}`);
      return { kind: 'unlock', project };
    }
    case 'yank':
      return parseYank(rest);
    case 'rollback':
      return parseRollback(rest);
    default:
      return parseRelease(words);
  }
}

function parseAudit(args: string[]): SlackCommand {
  if (args.length > 2) return usage('usage: `/release audit [project] [limit]`');
  let project: string | undefined;
  let limitText: string | undefined;
  if (args.length === 2) [project, limitText] = args;
  else if (args.length === 1) {
    // A lone number is a limit; anything else is a project.
    if (/^\d+$/.test(args[0] as string)) limitText = args[0];
    else project = args[0];
  }
  if (project !== undefined && !isProject(project)) return usage(`invalid project name ${show(project)}`);
  let limit = AUDIT_DEFAULT_LIMIT;
  if (limitText !== undefined) {
    if (!/^\d{1,4}$/.test(limitText) || Number(limitText) < 1 || Number(limitText) > AUDIT_MAX_LIMIT)
      return usage(`the limit is a number from 1 to ${AUDIT_MAX_LIMIT}`);
    limit = Number(limitText);
  }
  return { kind: 'audit', project, limit };
}

function parseYank(args: string[]): SlackCommand {
  const [project, version, ...more] = args;
  const { words: why, dryRun, noLock } = yankFlags(more);
  if (project === undefined || version === undefined || why.length === 0)
    return usage('usage: `/release yank <project> <version> <reason> [--dry-run] [--no-lock]`: say why');
  if (!isProject(project)) return usage(`invalid project name ${show(project)}`);
  if (!isVersion(version)) return usage(`invalid version ${show(version)}`);
  return { kind: 'yank', project, version, reason: why.join(' '), dryRun, noLock };
}

function parseRollback(args: string[]): SlackCommand {
  const [project, ...more] = args;
  const { words: why, dryRun, noLock } = yankFlags(more);
  if (project === undefined) return usage('usage: `/release rollback <project> [why] [--dry-run] [--no-lock]`');
  if (!isProject(project)) return usage(`invalid project name ${show(project)}`);
  return { kind: 'rollback', project, text: why.join(' '), dryRun, noLock };
}

function parseRelease(words: string[]): SlackCommand {
  const [project, version, flag, ...extra] = words as [string, ...string[]];
  if (version === undefined || extra.length > 0) return usage(`unknown command ${show(words.join(' '))}`);
  if (!isProject(project)) return usage(`invalid project name ${show(project)}`);
  if (!isVersion(version)) return usage(`invalid version ${show(version)}: use a semver-like version such as 4.2.0`);
  if (flag === undefined) return { kind: 'release', project, version, dryRun: false, resume: false };
  // Slack clients may turn `--` into an em or en dash as people type.
  if (/^(--|\u2014|\u2013)dry-run$/.test(flag)) return { kind: 'release', project, version, dryRun: true, resume: false };
  if (flag === 'resume' || flag === '--resume') return { kind: 'release', project, version, dryRun: false, resume: true };
  return usage(`unknown option ${show(flag)}: use --dry-run or resume`);
}

/** The options of yank and rollback, wherever they stand after the version; every other word is the reason. */
function yankFlags(words: string[]): { words: string[]; dryRun: boolean; noLock: boolean } {
  // Slack clients may turn `--` into an em or en dash as people type.
  const flag = (w: string, name: string) => new RegExp(`^(--|\u2014|\u2013)${name}$`).test(w);
  return {
    words: words.filter((w) => !flag(w, 'dry-run') && !flag(w, 'no-lock')),
    dryRun: words.some((w) => flag(w, 'dry-run')),
    noLock: words.some((w) => flag(w, 'no-lock')),
  };
}

function usage(problem: string): SlackCommand {
  return { kind: 'usage', problem };
}

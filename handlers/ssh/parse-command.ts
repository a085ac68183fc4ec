import { ErrorCode, ReleaseBotError } from '../../src/errors.js';
import { assertProjectName, assertVersion, clip } from '../../src/validate.js';

export type SshRequest =
  | { command: 'publish'; project: string; version: string }
  | {
      command: 'stage';
      project: string;
      version: string;
      buildNumber?: number | undefined;
      buildUrl?: string | undefined;
      commit?: string | undefined;
    }
  | { command: 'status'; project: string; version?: string | undefined }
  | { command: 'yank'; project: string; version: string; reason: string };

export const USAGE = [
  'publish <project> <version>',
  'stage <project> <version> [--build-number N] [--build-url URL] [--commit SHA]',
  'status <project> [version]',
  'yank <project> <version> <reason...>',
];

const MAX_LENGTH = 512;
/**
 * Every character a valid command can contain: letters, digits, `.`, `_`, `-`, `+` (semver build
 * metadata), and `:`, `/`, `%` for a build URL. No shell metacharacter, quote or whitespace but the
 * single space between words is among them, so nothing here can mean anything to a shell.
 */
const ALLOWED = /^[A-Za-z0-9._:/%+ -]$/;
const SHELL = new Set([...';|&$`\'"<>()[]{}*?!#~\\=^'].concat(['\n', '\r', '\t']));

function bad(message: string): ReleaseBotError {
  return new ReleaseBotError(ErrorCode.BadInput, `${message}. This key runs only: ${USAGE.join(' | ')}`);
}

function describe(ch: string): string {
  if (ch === '\n') return 'a newline';
  if (ch === '\r') return 'a carriage return';
  if (ch === '\t') return 'a tab';
  const code = ch.codePointAt(0) ?? 0;
  return code < 0x20 || code > 0x7e ? `U+${code.toString(16).toUpperCase().padStart(4, '0')}` : `"${ch}"`;
}

/**
 * Parses SSH_ORIGINAL_COMMAND for the forced command. It accepts exactly three commands with fixed
 * arguments and refuses everything else before anything runs: any character outside a strict set
 * (so no shell syntax, quoting or globbing can even be expressed), words not separated by single
 * spaces, unknown commands or options, and missing or extra arguments. Nothing is ever handed to a shell.
 */
export function parseSshCommand(original: string | undefined): SshRequest {
  if (original === undefined || original === '') throw bad('no command given: interactive logins are not allowed');
  if (original.length > MAX_LENGTH) throw bad(`the command is longer than ${MAX_LENGTH} characters`);
  for (const [i, ch] of [...original].entries()) {
    if (ALLOWED.test(ch)) continue;
    throw bad(
      SHELL.has(ch)
        ? `shell syntax is not accepted: ${describe(ch)} at position ${i + 1}`
        : `${describe(ch)} at position ${i + 1} is not accepted`,
    );
  }
  if (original.startsWith(' ') || original.endsWith(' ') || original.includes('  ')) throw bad('separate words with single spaces');
  const [command, ...rest] = original.split(' ') as [string, ...string[]];
  switch (command) {
    case 'publish':
      return parsePublish(rest);
    case 'stage':
      return parseStage(rest);
    case 'status':
      return parseStatus(rest);
    case 'yank':
      return parseYank(rest);
    default:
      throw bad(`unknown command ${JSON.stringify(clip(command, 40))}`);
  }
}

/** Splits words into leading positionals and the options after them; an option never comes first. */
function split(words: string[], name: string, positional: { min: number; max: number }): { args: string[]; options: string[] } {
  const firstOption = words.findIndex((w) => w.startsWith('-'));
  const args = firstOption < 0 ? words : words.slice(0, firstOption);
  const options = firstOption < 0 ? [] : words.slice(firstOption);
  if (args.length < positional.min)
    throw bad(`${name}: missing ${['<project>', '<version>'].slice(args.length, positional.min).join(' and ')}`);
  if (args.length > positional.max)
    throw bad(`${name}: unexpected extra argument ${JSON.stringify(clip(args[positional.max] as string, 40))}`);
  return { args, options };
}

/**
 * The contract of the forced command is `publish <project> <version>` and nothing more: a dry run or
 * a resume changes what a key may do, so over ssh neither exists (the CLI and Slack have both).
 */
function parsePublish(words: string[]): SshRequest {
  const { args, options } = split(words, 'publish', { min: 2, max: 2 });
  if (options.length > 0)
    throw bad(
      `publish: unexpected extra argument ${JSON.stringify(clip(options[0] as string, 40))}: over ssh, publish takes exactly <project> <version>`,
    );
  return { command: 'publish', project: assertProjectName(args[0] as string), version: assertVersion(args[1] as string) };
}

/** The only options `stage` takes over ssh, each value checked before anything runs. */
const STAGE_OPTIONS: Record<string, { check: RegExp; hint: string; valid?: (value: string) => boolean }> = {
  '--build-number': { check: /^[0-9]{1,9}$/, hint: 'a whole number' },
  '--build-url': {
    check: /^https?:\/\/[A-Za-z0-9.-]+(:[0-9]{1,5})?(\/[A-Za-z0-9._:/%+-]*)?$/,
    hint: 'an http(s) URL without query string',
    valid: isUrl,
  },
  '--commit': { check: /^[0-9a-f]{7,64}$/, hint: 'a commit hash (7 to 64 lower-case hex digits)' },
};

/** What the pattern cannot say: a port within range, a host name URL parsing accepts. */
function isUrl(value: string): boolean {
  return URL.canParse(value);
}

function parseStage(words: string[]): SshRequest {
  const { args, options } = split(words, 'stage', { min: 2, max: 2 });
  const values = new Map<string, string>();
  for (let i = 0; i < options.length; i += 2) {
    const name = options[i] as string;
    const spec = STAGE_OPTIONS[name];
    if (!spec) throw bad(`stage: unknown option or extra argument ${JSON.stringify(clip(name, 40))}`);
    if (values.has(name)) throw bad(`stage: ${name} given twice`);
    const value = options[i + 1];
    if (value === undefined || value.startsWith('-')) throw bad(`stage: ${name} needs a value`);
    if (!spec.check.test(value) || (spec.valid && !spec.valid(value))) throw bad(`stage: ${name} must be ${spec.hint}`);
    values.set(name, value);
  }
  const number = values.get('--build-number');
  return {
    command: 'stage',
    project: assertProjectName(args[0] as string),
    version: assertVersion(args[1] as string),
    buildNumber: number === undefined ? undefined : Number(number),
    buildUrl: values.get('--build-url'),
    commit: values.get('--commit'),
  };
}

/**
 * `yank <project> <version> <reason...>`: the reason is the rest of the words, in the same strict
 * character set as everything else. No option: over ssh a yank always freezes the project after.
 */
function parseYank(words: string[]): SshRequest {
  const [project, version, ...reason] = words;
  if (project === undefined || version === undefined)
    throw bad(`yank: missing ${project === undefined ? '<project> and <version>' : '<version>'}`);
  if (reason.length === 0) throw bad('yank: missing <reason>: say why the version is taken back');
  const option = reason.find((w) => w.startsWith('-'));
  if (option !== undefined)
    throw bad(`yank: unexpected option ${JSON.stringify(clip(option, 40))}: over ssh, yank takes <project> <version> <reason...>`);
  return { command: 'yank', project: assertProjectName(project), version: assertVersion(version), reason: reason.join(' ') };
}

function parseStatus(words: string[]): SshRequest {
  const { args, options } = split(words, 'status', { min: 1, max: 2 });
  if (options.length > 0) throw bad(`status: unknown option or extra argument ${JSON.stringify(clip(options[0] as string, 40))}`);
  return {
    command: 'status',
    project: assertProjectName(args[0] as string),
    version: args[1] === undefined ? undefined : assertVersion(args[1]),
  };
}

import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';

/**
 * A path the bot needs as a directory: one that does not exist yet is fine (it is created, or
 * reported where it is needed), one that exists as anything else fails every write later with an
 * error (EEXIST, ENOTDIR) that does not say which setting is wrong.
 */
export function directoryProblem(where: string, dir: string, example: string): string | undefined {
  try {
    if (statSync(dir).isDirectory()) return undefined;
    return `${where}: ${dir} is a file, not a directory: remove the file or point it at a directory, e.g. ${example}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    if (code === 'ENOTDIR')
      return `${where}: ${dir}: a part of this path is a file, not a directory: point it at a directory, e.g. ${example}`;
    return `${where}: ${dir} cannot be read (${code}): make it a directory the bot's user can read, e.g. ${example}`;
  }
}

/** Where `program` is found: an absolute path as it is, a bare name on PATH; undefined when not executable there. */
export function findProgram(program: string, pathVar: string): string | undefined {
  const executable = (file: string) => {
    try {
      accessSync(file, constants.X_OK);
      return statSync(file).isFile();
    } catch {
      return false;
    }
  };
  if (path.isAbsolute(program)) return executable(program) ? program : undefined;
  for (const dir of pathVar.split(path.delimiter).filter(Boolean)) {
    const candidate = path.join(dir, program);
    if (executable(candidate)) return candidate;
  }
  return undefined;
}

/** Where a missing program comes from on Debian, for the fix. */
export const DEBIAN_PACKAGE: Readonly<Record<string, string>> = {
  skopeo: 'skopeo',
  npm: 'npm',
  gem: 'ruby',
  ssh: 'openssh-client',
  scp: 'openssh-client',
  rsync: 'rsync',
  git: 'git',
  umoci: 'umoci',
};

/** The problem with a program a destination runs, or undefined when it is there to run. */
export function programProblem(where: string, program: string, pathVar: string): string | undefined {
  if (findProgram(program, pathVar)) return undefined;
  if (path.isAbsolute(program))
    return `${where}: ${program} does not exist or is not executable: install it there, or give the absolute path of the script, e.g. /opt/release/publish`;
  const pkg = DEBIAN_PACKAGE[program];
  return `${where}: ${program} is not found on PATH (${pathVar || 'empty'}): ${pkg ? `install it (apt-get install ${pkg})` : 'install it'} or give its absolute path, e.g. /usr/local/bin/${program}`;
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

/** This machine: what plain http:// may reach without crossing a network. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK.has(hostname);
}

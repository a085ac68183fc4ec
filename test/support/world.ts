/**
 * The one test world: a private directory holding the staging directory, the data directory and the
 * projects file, and the environment the bot reads them through. Every other builder (makeCore,
 * startSlackWorld, the Jenkins startBot, the CLI's startBotEnv, publishContext) is a thin layer over it:
 * one way to stage files, one way to write the projects file (typed, see projects-file.ts).
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writeProjectsFile, type ProjectsFileInput } from './projects-file.js';
import { makeTmpDir } from './tmp.js';

/** File contents by relative path (subdirectories are created). */
export type FileTree = Record<string, string | Buffer>;

/** Writes `files` under `dir` (created, with any subdirectory a path names); returns `dir`. */
export function writeFiles(dir: string, files: FileTree): string {
  mkdirSync(dir, { recursive: true });
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    writeFileSync(path.join(dir, name), content);
  }
  return dir;
}

/**
 * Writes files into `<stagingDir>/<project>/<version>/`, as a Jenkins build does before it reports;
 * `replace` first removes what an earlier build left there. Returns that directory.
 */
export function stageFiles(stagingDir: string, project: string, version: string, files: FileTree, replace = false): string {
  const dir = path.join(stagingDir, project, version);
  if (replace) rmSync(dir, { recursive: true, force: true });
  return writeFiles(dir, files);
}

/** The Conjur the bot logs in to: its URL and the API key of host/release-bot (account acme). */
export interface WorldConjur {
  url: string;
  apiKey: string;
}

export interface World {
  dir: string;
  stagingDir: string;
  dataDir: string;
  /** `<dir>/releases.yml` */
  configFile: string;
  /** Writes the projects file; its staging_dir is this world's unless given. */
  writeProjects(file: Omit<ProjectsFileInput, 'staging_dir'> & Partial<Pick<ProjectsFileInput, 'staging_dir'>>): void;
  /** Writes files into the staging directory (see stageFiles). */
  stageFiles(project: string, version: string, files: FileTree, replace?: boolean): string;
  /** The environment of a bot on this world's projects file and data directory, logging in to `conjur` as host/release-bot. */
  env(conjur: WorldConjur, more?: NodeJS.ProcessEnv): NodeJS.ProcessEnv;
  /** Removes the directory (a world made on a caller's directory leaves it to the caller). */
  cleanup(): void;
}

/** A world in `root` (a directory the caller owns and removes), or in a fresh temporary one (named `<prefix>…`) it removes itself. */
export function makeWorld({ root, prefix = 'release-bot-world-' }: { root?: string; prefix?: string } = {}): World {
  const tmp = root === undefined ? makeTmpDir(prefix) : { dir: root, cleanup: () => undefined };
  const stagingDir = path.join(tmp.dir, 'staging');
  const dataDir = path.join(tmp.dir, 'data');
  const configFile = path.join(tmp.dir, 'releases.yml');
  mkdirSync(stagingDir, { recursive: true });
  return {
    dir: tmp.dir,
    stagingDir,
    dataDir,
    configFile,
    writeProjects: (file) => writeProjectsFile(configFile, { staging_dir: stagingDir, ...file }),
    stageFiles: (project, version, files, replace) => stageFiles(stagingDir, project, version, files, replace),
    env: (conjur, more = {}) => ({
      CONJUR_APPLIANCE_URL: conjur.url,
      CONJUR_ACCOUNT: 'acme',
      CONJUR_AUTHN_LOGIN: 'host/release-bot',
      CONJUR_AUTHN_API_KEY: conjur.apiKey,
      RELEASE_BOT_CONFIG: configFile,
      RELEASE_BOT_DATA_DIR: dataDir,
      ...more,
    }),
    cleanup: tmp.cleanup,
  };
}

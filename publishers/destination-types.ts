import type { DestinationTypeSpec } from '../src/config/load.js';
import type { DestinationType } from '../src/publishing/types.js';
import { directoryOptions, type DirectoryOptions } from './directory/options.js';
import { dockerOptions, type DockerOptions } from './docker/options.js';
import { execOptions, type ExecOptions } from './exec/options.js';
import { githubOptions, type GithubOptions } from './github/options.js';
import { herokuOptions, type HerokuOptions } from './heroku/options.js';
import { npmOptions, type NpmOptions } from './npm/options.js';
import { rubygemsOptions, type RubygemsOptions } from './rubygems/options.js';
import { sshOptions, type SshOptions } from './ssh/options.js';

/**
 * Every destination type as the configuration knows it: the artifacts it takes, its option schema
 * (`<type>/options.ts`, zod only, built on its first use with `z.lazy`), the programs it runs and the
 * credential names it reads, so that `status` and `check-config` validate the projects file without
 * loading a publisher. Each publisher spreads its type into `definePublisher`; `registry.ts` lists the
 * publishers, and a test keeps the two lists in step.
 */
export const execType: DestinationType<ExecOptions> = { type: 'exec', artifacts: ['files', 'docker'], options: execOptions, tools: [] };
export const directoryType: DestinationType<DirectoryOptions> = {
  type: 'directory',
  artifacts: ['files'],
  options: directoryOptions,
  tools: [],
};
export const dockerType: DestinationType<DockerOptions> = {
  type: 'docker',
  artifacts: ['docker'],
  options: dockerOptions,
  tools: ['skopeo'],
};
export const sshType: DestinationType<SshOptions> = {
  type: 'ssh',
  artifacts: ['files'],
  options: sshOptions,
  tools: (opts) => ['ssh', opts.method],
};
export const npmType: DestinationType<NpmOptions> = { type: 'npm', artifacts: ['files'], options: npmOptions, tools: ['npm'] };
export const rubygemsType: DestinationType<RubygemsOptions> = {
  type: 'rubygems',
  artifacts: ['files'],
  options: rubygemsOptions,
  tools: ['gem'],
};
export const githubType: DestinationType<GithubOptions> = { type: 'github', artifacts: ['files'], options: githubOptions, tools: [] };
export const herokuType: DestinationType<HerokuOptions> = { type: 'heroku', artifacts: ['files'], options: herokuOptions, tools: [] };

/**
 * The credential names each publisher reads (its `credential(ctx, ...)` calls), so a mistyped one
 * is refused when the file is loaded rather than at the publish step. exec and directory take any name
 * (exec hands each to its script; a directory destination ignores them).
 */
const CREDENTIALS: Readonly<Record<string, DestinationTypeSpec['credentials']>> = {
  npm: { required: ['NPM_TOKEN'] },
  rubygems: { required: ['GEM_HOST_API_KEY'] },
  docker: { required: [], optional: ['REGISTRY_USERNAME', 'REGISTRY_PASSWORD', 'SOURCE_REGISTRY_USERNAME', 'SOURCE_REGISTRY_PASSWORD'] },
  github: { required: ['GITHUB_TOKEN'] },
  heroku: { required: ['HEROKU_API_KEY'] },
  ssh: { required: ['SSH_PRIVATE_KEY'] },
};

function spec<Options extends Record<string, unknown>>(t: DestinationType<Options>): [string, DestinationTypeSpec] {
  const credentials = CREDENTIALS[t.type];
  return [t.type, { options: t.options, artifacts: t.artifacts, tools: t.tools, ...(credentials ? { credentials } : {}) }];
}

export const destinationTypes: ReadonlyMap<string, DestinationTypeSpec> = new Map([
  spec(execType),
  spec(directoryType),
  spec(dockerType),
  spec(sshType),
  spec(npmType),
  spec(rubygemsType),
  spec(githubType),
  spec(herokuType),
]);

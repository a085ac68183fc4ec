import type { DestinationTypeSpec } from '../src/config/load.js';
import type { PublisherDefinition } from '../src/publishing/types.js';
import { directoryPublisher } from './directory.js';
import { dockerPublisher } from './docker.js';
import { execPublisher } from './exec.js';
import { githubPublisher } from './github.js';
import { herokuPublisher } from './heroku.js';
import { sshPublisher } from './ssh.js';
import { npmPublisher } from './npm.js';
import { rubygemsPublisher } from './rubygems.js';

/**
 * Every destination type, keyed by the `type` of a destination in the projects file.
 * Adding a type is one file in this folder plus one line here; a test keeps the two in step.
 */
const all: PublisherDefinition[] = [
  execPublisher,
  directoryPublisher,
  dockerPublisher,
  sshPublisher,
  npmPublisher,
  rubygemsPublisher,
  githubPublisher,
  herokuPublisher,
];

export const publishers: ReadonlyMap<string, PublisherDefinition> = new Map(all.map((p) => [p.type, p]));

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

export const destinationTypes: ReadonlyMap<string, DestinationTypeSpec> = new Map(
  all.map((p) => [
    p.type,
    { options: p.options, artifacts: p.artifacts, tools: p.tools, ...(CREDENTIALS[p.type] ? { credentials: CREDENTIALS[p.type] } : {}) },
  ]),
);

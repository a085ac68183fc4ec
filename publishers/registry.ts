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

/** The types as the configuration knows them, without their publishers (destination-types.ts). */
export { destinationTypes } from './destination-types.js';

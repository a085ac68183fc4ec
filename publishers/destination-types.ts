import type { DestinationTypeSpec } from '../src/config/load.js';
import type { DestinationType } from '../src/publishing/types.js';
import { directoryType } from './directory/options.js';
import { dockerType } from './docker/options.js';
import { execType } from './exec/options.js';
import { githubType } from './github/options.js';
import { herokuType } from './heroku/options.js';
import { npmType } from './npm/options.js';
import { rubygemsType } from './rubygems/options.js';
import { sshType } from './ssh/options.js';

/**
 * Every destination type as the configuration knows it (artifacts, option schema, tools, credential
 * names), from each type's `<type>/options.ts`: zod and nothing else, so that `status` and
 * `check-config` validate the projects file without loading a publisher. Each schema is built on its first
 * use (`z.lazy`): a projects file that uses one type builds that type's schema only. `registry.ts` lists the
 * publishers themselves; a test keeps the two lists in step.
 */
function spec<Options extends Record<string, unknown>>(t: DestinationType<Options>): [string, DestinationTypeSpec] {
  return [t.type, { options: t.options, artifacts: t.artifacts, tools: t.tools, ...(t.credentials ? { credentials: t.credentials } : {}) }];
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

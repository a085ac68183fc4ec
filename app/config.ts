import { destinationTypes } from '../publishers/destination-types.js';
import { loadConfig, type Config } from '../src/config/load.js';
import { Redactor } from '../src/redact.js';

/**
 * The configuration, validated with every destination type's options: the types as the configuration
 * knows them (publishers/destination-types.ts), never their publishers, so that a command that only
 * reads the configuration loads no publisher.
 */
export function loadAppConfig(env: NodeJS.ProcessEnv = process.env, redactor = new Redactor(), projectsFile?: Buffer | null): Config {
  return loadConfig(env, { destinationTypes, redactor, ...(projectsFile !== undefined ? { projectsFile } : {}) });
}

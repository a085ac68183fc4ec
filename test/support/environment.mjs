// Jest's node environment, plus one duty: each test file starts with node:http and node:https as Node made them.
//
// Every test file loads its own nock (setup.ts), and nock patches http.request, http.get, http.ClientRequest,
// https.request and https.get: core modules, shared by every file a worker runs. setup.ts unpatches them in
// afterAll, but Jest runs no hooks in a file whose tests are all skipped (test/install/ without
// RELEASE_BOT_INSTALL_TEST): that file's nock stayed under the next file's, answered first and refused every
// request the next file had mocked (ENETUNREACH). Teardown runs for every file, skipped or not.
import http from 'node:http';
import https from 'node:https';
import { TestEnvironment } from 'jest-environment-node';

// Loaded by the worker before its first test file, so before any nock.
const pristine = [
  [http, { request: http.request, get: http.get, ClientRequest: http.ClientRequest }],
  [https, { request: https.request, get: https.get }],
];

export default class ReleaseBotEnvironment extends TestEnvironment {
  async teardown() {
    for (const [module, functions] of pristine) Object.assign(module, functions);
    await super.teardown();
  }
}

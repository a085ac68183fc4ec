import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { ErrorCode } from '../../src/errors.js';
import { githubPublisher } from '../../publishers/github.js';
import { MAX_RESPONSE_BYTES } from '../../publishers/http.js';
import { makeTmpDir } from '../support/tmp.js';
import { yankContext } from '../publishers/helpers/yank-context.js';

/**
 * A hostile or broken service (a GitHub Enterprise, Heroku or RubyGems host, or whatever sits in
 * front of one) answers a request with a body that never ends. publishers/http.ts `request` must stop
 * reading at MAX_RESPONSE_BYTES and fail, not hold the flood in memory until the release machine dies.
 * The stand-in answers `GET /repos/{owner}/{repo}/releases/tags/{tag}` (repos/get-release-by-tag,
 * github/rest-api-description descriptions/api.github.com/api.github.com.yaml) with a JSON array that
 * never closes; it stops on its own after STOP bytes so a reader without a limit still ends.
 */
const TOKEN = 'ghp_canaryFLOOD0123456789abcdefABCDEF';
const STOP = MAX_RESPONSE_BYTES * 3;

let server: http.Server;
let written = 0;
let tmp: ReturnType<typeof makeTmpDir>;
beforeEach(async () => {
  tmp = makeTmpDir('release-bot-attack-flood-');
  written = 0;
  server = http.createServer((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    const chunk = Buffer.from(`${'{"id":7,"tag_name":"v4.2.0"},'.repeat(2048)}`);
    const pump = () => {
      while (written < STOP) {
        written += chunk.length;
        if (!res.write(chunk)) return void res.once('drain', pump);
      }
      res.end(']');
    };
    res.write('[');
    pump();
    res.on('close', () => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
});
afterEach(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
  tmp.cleanup();
});

test('an endless answer is cut off at MAX_RESPONSE_BYTES and fails the yank; the token stays out of the error', async () => {
  const api = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const ctx = yankContext(path.join(tmp.dir, 'ctx'), {
    published: { version: '4.2.0', artifact: { kind: 'files', files: [] } },
    credentials: { GITHUB_TOKEN: TOKEN },
  });
  const err = await githubPublisher.yank!(ctx, githubPublisher.options.parse({ repository: 'acme/cli', api_url: api })).catch(
    (e: unknown) => e,
  );
  expect(err).toMatchObject({ code: ErrorCode.DestinationFailed, details: { reason: 'too-large' } });
  expect(String((err as Error).message)).not.toContain(TOKEN);
  // The invariant: the reader stopped; the flood was not taken in whole (the kernel buffers a little more).
  expect(written).toBeLessThan(STOP);
});

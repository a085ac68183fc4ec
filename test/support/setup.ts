import nock from 'nock';

// Strict HTTP mocks: nothing leaves the machine; loopback servers started by a test stay reachable.
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  if (pending.length > 0) throw new Error(`expected HTTP requests were never made:\n  ${pending.join('\n  ')}`);
});

// node:http and node:https, which this file's nock patches, are unpatched after every file by
// test/support/environment.mjs (a hook here would not run in a file whose tests are all skipped).

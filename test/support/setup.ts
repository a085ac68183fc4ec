import nock from 'nock';

// Strict HTTP mocks: nothing leaves the machine; loopback servers started by a test stay reachable.
nock.disableNetConnect();
nock.enableNetConnect(/^(127\.0\.0\.1|localhost)(:\d+)?$/);

afterEach(() => {
  const pending = nock.pendingMocks();
  nock.cleanAll();
  if (pending.length > 0) throw new Error(`expected HTTP requests were never made:\n  ${pending.join('\n  ')}`);
});

// Each test file loads its own nock, but node:http is shared by the files a worker runs: unpatch it
// when a file ends, or the next file's nock sits behind this one's and its interceptors never match.
afterAll(() => {
  nock.restore();
});

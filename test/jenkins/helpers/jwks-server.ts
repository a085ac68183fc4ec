import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface JwksServer {
  url: string;
  /** The server's root URL with a trailing slash (a Jenkins root URL when the set is at `oidc/jwks`). */
  root: string;
  /** How many times the set was fetched. */
  requests: number;
  setKeys(keys: unknown[]): void;
  setStatus(status: number): void;
  setRaw(body: string): void;
  close(): Promise<void>;
}

/**
 * A JWKS endpoint on 127.0.0.1, for tests. Jenkins' OIDC provider plugin serves its set at
 * `<issuer>/jwks` with the issuer `<root URL>oidc` (Keys.java): pass `path: '/oidc/jwks'` for that.
 */
export async function startJwksServer(initial: { keys: unknown[] }, options: { path?: string } = {}): Promise<JwksServer> {
  const jwksPath = options.path ?? '/jwks';
  let body = JSON.stringify(initial);
  let status = 200;
  const state = { requests: 0 };
  const server = http.createServer((req, res) => {
    state.requests++;
    if (req.url !== jwksPath) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${jwksPath}`,
    root: `http://127.0.0.1:${port}/`,
    get requests() {
      return state.requests;
    },
    setKeys: (keys) => {
      body = JSON.stringify({ keys });
      status = 200;
    },
    setStatus: (s) => {
      status = s;
    },
    setRaw: (raw) => {
      body = raw;
      status = 200;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

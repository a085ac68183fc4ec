import express from 'express';
import pino from 'pino';
import { KEEP_ALIVE_TIMEOUT_MS, listen } from '../../src/server.js';

/** Idle connections outlive a proxy's (60 s), so the proxy closes them, never the bot under a request. */
describe('the HTTP server keeps idle connections longer than the proxies in front of it', () => {
  it('keepAliveTimeout 65 s, headersTimeout above it', async () => {
    const server = await listen(express(), '127.0.0.1', 0, pino({ level: 'silent' }));
    try {
      expect(KEEP_ALIVE_TIMEOUT_MS).toBe(65_000);
      expect(server.keepAliveTimeout).toBe(65_000);
      expect(server.headersTimeout).toBeGreaterThan(server.keepAliveTimeout);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

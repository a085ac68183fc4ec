// A release thread that dies: the real one (dist/app/release-worker.js), but the first release it is
// sent throws an error nothing catches, before the real worker sees the message (this listener is
// registered first). What an uncaught bug in a release, or the thread running out of memory, does.
import { parentPort } from 'node:worker_threads';

parentPort?.on('message', (message) => {
  if (message.type === 'release') throw new Error('the release thread was made to die by the test');
});
await import('../../../dist/app/release-worker.js');

// `release-bot serve` (the compiled app/serve.js, as the CLI starts it) whose release thread dies at
// its first release (dying-release-worker.mjs). The worker file is an option only code can pass:
// no configuration, environment variable or flag reaches it, and the CLI never passes it.
import { fileURLToPath } from 'node:url';
import { serve } from '../../../dist/app/serve.js';

await serve({ releaseWorkerFile: fileURLToPath(new URL('./dying-release-worker.mjs', import.meta.url)) });

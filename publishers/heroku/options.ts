import { z } from '../../src/config/zod.js';
import { serviceUrl } from '../common/service-url.js';

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
/** The options of a heroku destination: the app, the API, where Heroku downloads the tarball. */
export const herokuOptions = z.lazy(() =>
  z
    .object({
      /** The Heroku app name. */
      app: z.string().regex(/^[a-z][a-z0-9-]{1,29}$/, 'a Heroku app name (lower-case letters, digits and dashes)'),
      api_url: serviceUrl.default('https://api.heroku.com'),
      /** Where Heroku downloads the tarball (the download host); {project}, {version} and {file} are replaced. */
      source_url: z.string().refine((v) => {
        try {
          const u = new URL(v);
          return !u.username && !u.password && (u.protocol === 'https:' || (u.protocol === 'http:' && LOOPBACK.has(u.hostname)));
        } catch {
          return false;
        }
      }, 'an https URL template such as https://downloads.example.com/{project}/{version}/{file}, without credentials'),
      /** The staged source tarball; default: the single *.tar.gz or *.tgz. */
      file: z.string().min(1).optional(),
      poll_interval_ms: z.number().int().min(0).max(60_000).default(2_000),
    })
    .strict(),
);
export type HerokuOptions = z.infer<typeof herokuOptions>;

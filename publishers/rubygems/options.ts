import { z } from '../../src/config/zod.js';
import { serviceUrl } from '../common/service-url.js';

/** The options of a rubygems destination: the gem server, the gem and its checks. */
export const rubygemsOptions = z.lazy(() =>
  z
    .object({
      /** The gem server; the API key is sent to it and only to it. */
      host: serviceUrl.default('https://rubygems.org'),
      /** The staged .gem to push (a file name); default: the single *.gem. */
      gem: z.string().min(1).optional(),
      /** The name the gem's own metadata must declare; default: the project's name. */
      gem_name: z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/, 'a gem name such as tiny-util')
        .optional(),
      /** Pause between read-back attempts while the server's API catches up after a push. */
      read_back_interval_ms: z.number().int().min(0).max(60_000).default(3_000),
    })
    .strict(),
);
export type RubygemsOptions = z.infer<typeof rubygemsOptions>;

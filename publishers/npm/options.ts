import { z } from '../../src/config/zod.js';
import { serviceUrl } from '../common/service-url.js';

/** The options of an npm destination: the registry, the dist-tag, the package and its checks. */
export const npmOptions = z.lazy(() =>
  z
    .object({
      /** Registry base URL, e.g. https://registry.npmjs.org/ */
      registry: serviceUrl,
      /** dist-tag; never starts with "-" and is no version, so it cannot be read as an option or a range. */
      tag: z
        .string()
        .regex(/^[A-Za-z][A-Za-z0-9._-]{0,63}$/, 'a dist-tag such as latest or next')
        .default('latest'),
      access: z.enum(['public', 'restricted']).optional(),
      /** The staged .tgz to publish (a file name); default: the single *.tgz. */
      package: z.string().min(1).optional(),
      /** The name the tarball's package.json must declare; default: the project's name. */
      package_name: z
        .string()
        .regex(/^(@[a-z0-9][a-z0-9._~-]*\/)?[a-z0-9][a-z0-9._~-]*$/, 'an npm package name such as tiny-util or @acme/tiny-util')
        .max(214)
        .optional(),
      /** CA certificates (PEM file) to trust for the registry; the only TLS trust setting npm is given. */
      cafile: z.string().startsWith('/', 'an absolute path').optional(),
      /** Pause between read-back attempts while the registry catches up after a publish. */
      read_back_interval_ms: z.number().int().min(0).max(60_000).default(2_000),
    })
    .strict(),
);
export type NpmOptions = z.infer<typeof npmOptions>;

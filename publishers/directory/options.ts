import { z } from '../../src/config/zod.js';

/** The options of a directory destination: where the files go. */
export const directoryOptions = z.lazy(() =>
  z
    .object({
      /** Target directory; {project} and {version} are replaced. Files land there with the release label beside them. */
      path: z.string().min(1),
    })
    .strict(),
);
export type DirectoryOptions = z.infer<typeof directoryOptions>;

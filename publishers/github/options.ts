import { z } from '../../src/config/zod.js';
import { serviceUrl } from '../common/service-url.js';

/** The options of a github destination: the repository, the tag, and what the release is created as. */
export const githubOptions = z.lazy(() =>
  z
    .object({
      repository: z.string().regex(/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/, 'owner/name, e.g. cyberark/conjur-cli'),
      api_url: serviceUrl.default('https://api.github.com'),
      /** The release's tag; {version} and {project} are replaced. A missing tag is created at the build's commit. */
      tag: z
        .string()
        .regex(/^[A-Za-z0-9{][A-Za-z0-9{}._+@/-]*$/, 'a tag template such as v{version}')
        .default('v{version}'),
      /** Add assets to a release that release-bot did not create (an existing asset is still never replaced). */
      update_existing: z.boolean().default(false),
      draft: z.boolean().default(false),
      prerelease: z.boolean().default(false),
      /** On a yank, delete the release (its git tag stays) instead of marking it a prerelease with the reason. */
      delete_on_yank: z.boolean().default(false),
    })
    .strict(),
);
export type GithubOptions = z.infer<typeof githubOptions>;

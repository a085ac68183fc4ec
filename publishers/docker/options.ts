import { z } from '../../src/config/zod.js';
import { IMAGE_REPOSITORY } from '../../src/staging/image-repository.js';

/** The options of a docker destination: the repository, its tags, latest and what a yank deletes. */
export const dockerOptions = z.lazy(() =>
  z
    .object({
      /** Destination repository, e.g. registry.example.com/org/conjur-cli (no tag, no transport). */
      repository: z
        .string()
        .regex(
          IMAGE_REPOSITORY,
          'use "<registry host[:port]>/<lower-case path>" such as registry.example.com/org/conjur-cli, without a tag or "docker://"',
        ),
      /** false only for a plain-HTTP registry (a loopback test registry); certificates are checked otherwise. */
      tls_verify: z.boolean().default(true),
      /** Tags to create; {version} and {build} (the Jenkins build number) are replaced. */
      tags: z
        .array(z.string().regex(/^[A-Za-z0-9_{}][A-Za-z0-9_.{}-]{0,127}$/, 'a docker tag, optionally with {version} and {build}'))
        .min(1)
        .default(['{version}', '{version}-build.{build}']),
      /**
       * Also point `latest` at every release's image: the one tag a release moves (version tags are never
       * overwritten), and the one a yank moves back to the previous release.
       */
      latest: z.boolean().default(false),
      /** On a yank, delete the yanked manifest (and with it the version's own tags); the registry must allow deletes. */
      delete_version_tag: z.boolean().default(false),
    })
    .strict(),
);
export type DockerOptions = z.infer<typeof dockerOptions>;

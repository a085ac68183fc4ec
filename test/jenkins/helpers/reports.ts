/** Builders with overrides for the two report formats (no copied JSON blobs). */

type Dict = Record<string, unknown>;

export function botReport(
  over: { project?: string; version?: string; build?: Dict; artifacts?: unknown; image?: unknown } & Dict = {},
): Dict {
  const { build, ...rest } = over;
  return {
    project: 'conjur-cli',
    version: '4.2.0',
    build: {
      job: 'conjur-cli',
      number: 123,
      url: 'https://jenkins.example/job/conjur-cli/123/',
      commit: '9fceb02d0ae598e95dc970b74767f19372d61af8',
      ...build,
    },
    ...rest,
  };
}

export function notification(over: { name?: string; url?: string; build?: Dict; parameters?: Dict } & Dict = {}): Dict {
  const { build, parameters, ...rest } = over;
  return {
    name: 'conjur-cli',
    url: 'job/conjur-cli/',
    ...rest,
    build: {
      full_url: 'https://jenkins.example/job/conjur-cli/123/',
      number: 123,
      queue_id: 42,
      phase: 'COMPLETED',
      status: 'SUCCESS',
      url: 'job/conjur-cli/123/',
      scm: { url: 'https://github.com/cyberark/conjur-cli.git', branch: 'origin/main', commit: '9fceb02d0ae598e95dc970b74767f19372d61af8' },
      parameters: { VERSION: '4.2.0', ...parameters },
      artifacts: { 'conjur-cli-4.2.0.gem': { archive: 'https://jenkins.example/job/conjur-cli/123/artifact/conjur-cli-4.2.0.gem' } },
      log: '',
      notes: '',
      ...build,
    },
  };
}

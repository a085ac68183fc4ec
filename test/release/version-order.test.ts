import { compareVersions } from '../../src/release/version-order.js';

describe('compareVersions: what latest moves back to after a yank', () => {
  it('orders as semver does: numeric parts, a pre-release before its release, build metadata ignored', () => {
    const sorted = ['1.10.0', '1.2.0', '1.2.0-rc.10', '1.2.0-rc.2', 'v1.1.0', '1.2.0-alpha', '2.0.0+build.7', '1.2'].sort(compareVersions);
    expect(sorted).toEqual(['v1.1.0', '1.2.0-alpha', '1.2.0-rc.2', '1.2.0-rc.10', '1.2.0', '1.2', '1.10.0', '2.0.0+build.7']);
    expect(compareVersions('1.2.0', '1.2')).toBe(0);
    expect(compareVersions('4.2.0+a', '4.2.0+b')).toBe(0);
  });
});

import { startConjurStandIn, type ConjurStandIn, type ConjurStandInOptions, type RoleRef } from '../../dev/conjur-stand-in.js';
import { ACCOUNT, BOT_LOGIN, CANARY_API_KEY, captureLogger, makeClient } from './helpers.js';

/**
 * Membership as Conjur computes it. `GET /roles/<account>/<kind>/<id>?all` answers with
 * `all_roles(role_id)`: every role reachable upwards through `role_memberships`
 * (cyberark/conjur db/migrate/20160705141848_create_authz_functions.rb), and that table holds an
 * ownership row (role, owner, admin_option, ownership) for every owned role (app/models/functions.rb,
 * grant_role_membership_to_owner). Records in a policy are owned by the policy role, a policy by its
 * enclosing policy or its explicit owner, the root policy by `admin`
 * (gems/policy-parser/lib/conjur/policy/resolver.rb OwnerResolver; app/models/loader/types.rb).
 * That answer is the definition; the bot's downward `?members` walk (taken when the person is hidden
 * from it, Conjur 1.19.3+) must reach the same verdict.
 */
const GROUP = 'release/conjur-cli';

/** The organisation: a root policy owned by admin; the `release` policy loaded with `owner: !group security-admins`. */
const roles: Pick<ConjurStandInOptions, 'groups' | 'layers' | 'owners'> = {
  groups: {
    'security-admins': ['user:sam'],
    [GROUP]: ['group:release/devs', 'layer:release/ci', 'host:deployer', 'group:team-hidden'],
    'release/devs': ['user:alice'],
    'team-hidden': ['user:carol'],
    'ops/oncall': ['user:bob'],
  },
  layers: { 'release/ci': ['host:ci/jenkins'] },
  owners: {
    'policy:root': 'user:admin',
    'group:security-admins': 'policy:root',
    'policy:release': 'group:security-admins',
    [`group:${GROUP}`]: 'policy:release',
    'group:release/devs': 'policy:release',
    'layer:release/ci': 'policy:release',
    'group:team-hidden': 'policy:root',
    'group:ops/oncall': 'user:dave',
    'host:deployer': 'policy:root',
    'host:ci/jenkins': 'policy:root',
  },
};
const people: RoleRef[] = ['user:admin', 'user:sam', 'user:alice', 'user:carol', 'user:bob', 'user:dave', 'host:ci/jenkins', 'host:deployer', 'user:nobody'];
const loginOf = (r: RoleRef) => (r.startsWith('host:') ? `host/${r.slice(5)}` : r.slice(5));

/** What the bot may see on the group side: the release group, what is nested in it, the policies and the owners' group; never team-hidden. */
const groupSide: RoleRef[] = [`group:${GROUP}`, 'group:release/devs', 'layer:release/ci', 'policy:release', 'group:security-admins', 'policy:root'];
const bot: RoleRef = 'host:release-bot';

function world(visiblePeople: boolean): ConjurStandInOptions {
  const visible = [...groupSide, ...(visiblePeople ? people : [])];
  return {
    account: ACCOUNT,
    apiKeys: { [BOT_LOGIN]: CANARY_API_KEY },
    ...roles,
    visibility: Object.fromEntries(visible.map((r) => [r, [bot]])),
  };
}

describe('membership: the ?all answer and the ?members walk agree, ownership included', () => {
  let fromPerson: ConjurStandIn;
  let fromGroup: ConjurStandIn;
  beforeAll(async () => {
    fromPerson = await startConjurStandIn(world(true));
    fromGroup = await startConjurStandIn(world(false));
  });
  afterAll(async () => {
    await fromPerson.close();
    await fromGroup.close();
  });

  const cases: Array<[string, RoleRef, boolean]> = [
    ['the owner of the root policy (owns everything, transitively)', 'user:admin', true],
    ['a member of the group that owns the release policy', 'user:sam', true],
    ['a member through a nested group', 'user:alice', true],
    ['a host through a layer granted to the group', 'host:ci/jenkins', true],
    ['a host granted directly', 'host:deployer', true],
    ['a member of another group only', 'user:bob', false],
    ['the owner of an unrelated group', 'user:dave', false],
    ['someone Conjur does not know', 'user:nobody', false],
  ];

  it.each(cases)('%s (%s): both paths answer %s', async (_, person, expected) => {
    const a = makeClient({ applianceUrl: fromPerson.url }).client;
    const b = makeClient({ applianceUrl: fromGroup.url }).client;
    const before = { a: fromPerson.requests.length, b: fromGroup.requests.length };
    await expect(a.isMember(loginOf(person), GROUP)).resolves.toBe(expected);
    await expect(b.isMember(loginOf(person), GROUP)).resolves.toBe(expected);
    // Each path was really the one it claims: one ?all on the person's side; a 404 and the walk on the other.
    const roleQueries = (s: ConjurStandIn, from: number) => s.requests.slice(from).filter((r) => r.path.startsWith('/roles/'));
    const asked = roleQueries(fromPerson, before.a).map((r) => `${r.query} ${r.status}`);
    // Someone Conjur does not know is a 404 on the person's side too, and so walked there as well.
    if (person === 'user:nobody') expect(asked[0]).toBe('all 404');
    else expect(asked).toEqual(['all 200']);
    const walked = roleQueries(fromGroup, before.b);
    expect(walked[0]?.query).toBe('all');
    expect(walked[0]?.status).toBe(404);
    expect(walked.slice(1).every((r) => r.query === 'members')).toBe(true);
  });

  it('owners: the walk reaches admin and sam only through the release policy\'s ownership rows', async () => {
    const b = makeClient({ applianceUrl: fromGroup.url }).client;
    const from = fromGroup.requests.length;
    await expect(b.isMember('sam', GROUP)).resolves.toBe(true);
    const paths = fromGroup.requests.slice(from).map((r) => decodeURIComponent(r.path));
    expect(paths).toContain(`/roles/${ACCOUNT}/policy/release`);
    expect(paths).toContain(`/roles/${ACCOUNT}/group/security-admins`);
  });

  it('a hidden nested group: Conjur counts carol, the walk cannot see team-hidden, refuses her and names the group in a warning', async () => {
    const a = makeClient({ applianceUrl: fromPerson.url }).client;
    const logs = captureLogger();
    const b = makeClient({ applianceUrl: fromGroup.url, log: logs.log }).client;
    await expect(a.isMember('carol', GROUP)).resolves.toBe(true);
    // The only disagreement, and always towards refusal: the walk never admits anyone ?all would refuse.
    await expect(b.isMember('carol', GROUP)).resolves.toBe(false);
    expect(logs.text()).toContain('not visible to the bot');
    expect(logs.text()).toContain(`${ACCOUNT}:group:team-hidden`);
  });

  it('the walk never admits anyone Conjur\'s own answer would not, for every person and every role of the world', async () => {
    const a = makeClient({ applianceUrl: fromPerson.url }).client;
    const b = makeClient({ applianceUrl: fromGroup.url }).client;
    const targets = [GROUP, 'release/devs', 'security-admins'];
    for (const person of people) {
      for (const group of targets) {
        const all = await a.isMember(loginOf(person), group);
        const walk = await b.isMember(loginOf(person), group);
        if (walk) expect([person, group, all]).toEqual([person, group, true]);
      }
    }
  });
});

import { startConjurStandIn, type ConjurStandIn, type ConjurStandInOptions, type RoleRef } from '../../dev/conjur-stand-in.js';
import { ErrorCode, isReleaseBotError } from '../../src/errors.js';
import { ACCOUNT, BOT_LOGIN, CANARY_API_KEY, captureLogger, makeClient, rejectionOf } from './helpers.js';

/**
 * Membership as Conjur computes it. The definition is `all_roles(person)`: every role reachable
 * upwards through `role_memberships` (cyberark/conjur db/migrate/20160705141848_create_authz_functions.rb),
 * a table holding an ownership row (role, owner, admin_option, ownership) for every owned role
 * (app/models/functions.rb, grant_role_membership_to_owner). Records in a policy are owned by the
 * policy role, a policy by its enclosing policy or its explicit owner, the root policy by `admin`
 * (gems/policy-parser/lib/conjur/policy/resolver.rb OwnerResolver; app/models/loader/types.rb).
 *
 * The bot asks one of two ways, both computed by Conjur over those rows:
 * - the group's membership sentinel, `GET /resources/<account>/webservice/<group>?permitted_roles=true&privilege=release`:
 *   `roles_that_can` (the same migration), the roles permitted `release` (the group) and the
 *   sentinel's owner (the group's own owner), closed downwards, with no visibility filter on the way
 *   (app/controllers/resources_controller.rb#permitted_roles); only the sentinel must be visible
 *   (app/controllers/concerns/find_resource.rb);
 * - the person's `GET /roles/<account>/<kind>/<id>?all`, which Conjur 1.19.3+ answers only when the
 *   bot holds a privilege on the person.
 * For every person and every group of this organisation, each gives exactly `all_roles`' answer.
 */
const GROUP = 'release/conjur-cli';
const bot: RoleRef = 'host:release-bot';

/**
 * The organisation: a root policy owned by admin; the `release` policy loaded with
 * `owner: !group security-admins`; a nested group the bot may not see (team-hidden, itself holding
 * deep-team); carol's user record owned by frank (so frank holds carol's role, and what carol holds).
 */
const roles: Pick<ConjurStandInOptions, 'groups' | 'layers' | 'owners'> = {
  groups: {
    'security-admins': ['user:sam'],
    [GROUP]: ['group:release/devs', 'layer:release/ci', 'host:deployer', 'group:team-hidden'],
    'release/devs': ['user:alice'],
    'team-hidden': ['user:carol', 'group:deep-team'],
    'deep-team': ['user:erin'],
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
    'group:deep-team': 'policy:root',
    'group:ops/oncall': 'user:dave',
    'user:carol': 'user:frank',
    'host:deployer': 'policy:root',
    'host:ci/jenkins': 'policy:root',
  },
};
const people: RoleRef[] = [
  'user:admin',
  'user:sam',
  'user:alice',
  'user:carol',
  'user:erin',
  'user:frank',
  'user:bob',
  'user:dave',
  'host:ci/jenkins',
  'host:deployer',
  'user:nobody',
];
const groups = Object.keys(roles.groups ?? {});
const loginOf = (r: RoleRef) => (r.startsWith('host:') ? `host/${r.slice(5)}` : r.slice(5));

/** Every group's sentinel, declared in the group's own policy (so owned by the group's owner), as deploy/conjur/policy.yml does. */
const sentinels: ConjurStandInOptions['webservices'] = Object.fromEntries(
  groups.map((g) => [
    g,
    { owner: roles.owners?.[`group:${g}`] ?? 'policy:root', permissions: { release: [`group:${g}` as RoleRef], read: [bot] } },
  ]),
);

/** What the bot may see: the release groups (read, as policy.yml permits) and, when `people`, every person; never team-hidden or deep-team. */
function world(options: { sentinels: boolean; people: boolean }): ConjurStandInOptions {
  const visible: RoleRef[] = [
    `group:${GROUP}`,
    'group:release/devs',
    'layer:release/ci',
    'policy:release',
    ...(options.people ? people : []),
  ];
  return {
    account: ACCOUNT,
    apiKeys: { [BOT_LOGIN]: CANARY_API_KEY },
    ...roles,
    ...(options.sentinels ? { webservices: sentinels } : {}),
    visibility: Object.fromEntries(visible.map((r) => [r, [bot]])),
  };
}

/** The path each answer took, as the stand-in saw it. */
const asked = (s: ConjurStandIn, from: number) =>
  s.requests
    .slice(from)
    .filter((r) => r.method === 'GET')
    .map((r) => `${r.path.split('/')[1]} ${r.query.split('&')[0]} ${r.status}`);

describe("membership: the sentinel and ?all give Conjur's own answer (all_roles, ownership included)", () => {
  let sentinelSide: ConjurStandIn;
  let personSide: ConjurStandIn;
  let neither: ConjurStandIn;
  beforeAll(async () => {
    // The people are hidden from the bot; the sentinels are in place.
    sentinelSide = await startConjurStandIn(world({ sentinels: true, people: false }));
    // No sentinel; the bot may read every person.
    personSide = await startConjurStandIn(world({ sentinels: false, people: true }));
    // No sentinel, people hidden.
    neither = await startConjurStandIn(world({ sentinels: false, people: false }));
  });
  afterAll(async () => {
    await sentinelSide.close();
    await personSide.close();
    await neither.close();
  });

  const member = (s: ConjurStandIn, person: RoleRef, group: string) => s.allRoles(person).includes(`${ACCOUNT}:group:${group}`);

  const cases: Array<[string, RoleRef, boolean]> = [
    ['the owner of the root policy (owns everything, transitively)', 'user:admin', true],
    ['a member of the group that owns the release policy', 'user:sam', true],
    ['a member through a nested group', 'user:alice', true],
    ['a member of a nested group hidden from the bot', 'user:carol', true],
    ['a member of a group nested in the hidden group', 'user:erin', true],
    ["the owner of a member user (holds that user's role)", 'user:frank', true],
    ['a host through a layer granted to the group', 'host:ci/jenkins', true],
    ['a host granted directly', 'host:deployer', true],
    ['a member of another group only', 'user:bob', false],
    ['the owner of an unrelated group', 'user:dave', false],
  ];

  it("the cases below are all_roles' own answers", () => {
    for (const [, person, expected] of cases) expect([person, member(sentinelSide, person, GROUP)]).toEqual([person, expected]);
  });

  it.each(cases)('%s (%s): sentinel and ?all both answer %s, each in its own way', async (_, person, expected) => {
    const viaSentinel = makeClient({ applianceUrl: sentinelSide.url }).client;
    const viaPerson = makeClient({ applianceUrl: personSide.url }).client;
    const before = { s: sentinelSide.requests.length, p: personSide.requests.length };
    await expect(viaSentinel.isMember(loginOf(person), GROUP)).resolves.toBe(expected);
    await expect(viaPerson.isMember(loginOf(person), GROUP)).resolves.toBe(expected);
    // One request on the sentinel side; the sentinel's 404, then the person's ?all, on the other.
    expect(asked(sentinelSide, before.s)).toEqual(['resources permitted_roles=true 200']);
    expect(asked(personSide, before.p)).toEqual(['resources permitted_roles=true 404', 'roles all 200']);
  });

  it("someone Conjur does not know: not in the sentinel's answer; on the person's side Conjur's 404 is the same as hidden, so refused as undetermined", async () => {
    expect(member(sentinelSide, 'user:nobody', GROUP)).toBe(false);
    await expect(makeClient({ applianceUrl: sentinelSide.url }).client.isMember('nobody', GROUP)).resolves.toBe(false);
    const err = await rejectionOf(makeClient({ applianceUrl: personSide.url }).client.isMember('nobody', GROUP));
    expect(isReleaseBotError(err, ErrorCode.MembershipUndetermined)).toBe(true);
  });

  it("for every person and every group of the organisation, both paths give all_roles' answer", async () => {
    const viaSentinel = makeClient({ applianceUrl: sentinelSide.url }).client;
    const viaPerson = makeClient({ applianceUrl: personSide.url }).client;
    const answers: string[] = [];
    const expected: string[] = [];
    for (const person of people.filter((p) => p !== 'user:nobody')) {
      for (const group of groups) {
        expected.push(`${person} ${group} ${member(sentinelSide, person, group)} ${member(sentinelSide, person, group)}`);
        answers.push(
          `${person} ${group} ${await viaSentinel.isMember(loginOf(person), group)} ${await viaPerson.isMember(loginOf(person), group)}`,
        );
      }
    }
    expect(answers).toEqual(expected);
    expect(expected.filter((e) => e.endsWith('true true')).length).toBeGreaterThan(groups.length);
  });

  it('neither the sentinel nor the person visible: refused as membership undetermined, naming the fix, for members and outsiders alike', async () => {
    const logs = captureLogger();
    const { client } = makeClient({ applianceUrl: neither.url, log: logs.log });
    for (const person of ['user:carol', 'user:alice', 'user:bob'] as RoleRef[]) {
      const before = neither.requests.length;
      const err = await rejectionOf(client.isMember(loginOf(person), GROUP));
      expect(isReleaseBotError(err, ErrorCode.MembershipUndetermined)).toBe(true);
      expect((err as Error).message).toContain(`!webservice ${GROUP}`);
      expect((err as Error).message).toContain(`permit the group release and ${BOT_LOGIN} read on it`);
      expect(asked(neither, before)).toEqual(['resources permitted_roles=true 404', 'roles all 404']);
    }
    expect(logs.text()).toContain('Conjur group membership undetermined');
    // The downward walk is gone: nothing asks ?members.
    expect(neither.requests.some((r) => r.query.startsWith('members'))).toBe(false);
  });

  it("a sentinel that does not permit its group (someone else's, or the permit forgotten) is not read as the group's members", async () => {
    const stray = await startConjurStandIn({
      ...world({ sentinels: false, people: false }),
      // Only its owner's side would be listed: admin, as owner of root, is in it, and so would be admitted.
      webservices: { [GROUP]: { owner: 'policy:root', permissions: { read: [bot] } } },
    });
    try {
      const { client } = makeClient({ applianceUrl: stray.url });
      const err = await rejectionOf(client.isMember('admin', GROUP));
      expect(isReleaseBotError(err, ErrorCode.MembershipUndetermined)).toBe(true);
      expect((err as Error).message).toContain(`does not permit the group ${GROUP}`);
      await expect(client.membershipSentinel(GROUP)).resolves.toBe('group-not-permitted');
    } finally {
      await stray.close();
    }
  });

  it('reports each sentinel as in place or missing, for /readyz and doctor', async () => {
    await expect(makeClient({ applianceUrl: sentinelSide.url }).client.membershipSentinel(GROUP)).resolves.toBe('ok');
    await expect(makeClient({ applianceUrl: personSide.url }).client.membershipSentinel(GROUP)).resolves.toBe('missing');
  });
});

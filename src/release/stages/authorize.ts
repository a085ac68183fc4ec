import { assertMember } from '../membership.js';
import { need } from '../services.js';
import type { GateStage } from './context.js';

/** Authorize: the requester is a member of the project's Conjur group. Any doubt (Conjur down, 5xx, timeout) refuses: fail closed. */
export const authorize: GateStage = {
  name: 'authorize',
  deniedWithBuild: true,
  run: async (r) => {
    const project = need(r.project);
    const group = project.authorized_group;
    // The login was checked when the request was admitted: Conjur is asked directly.
    const conjur = { isMember: (login: string, g: string) => r.s.conjur.isMember(login, g) };
    await assertMember(
      conjur,
      r.requester,
      group,
      `${r.requester.login} is not a member of the Conjur group ${group}, which may release ${project.name}`,
    );
  },
};

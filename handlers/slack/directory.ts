import type { webApi } from '@slack/bolt';
import type { SlackDirectory, SlackOrg, SlackUserProfile } from './identity.js';

/**
 * `users.info` and `auth.test` through the bot's Web API client, reduced to what identity reads.
 * Field names as in @slack/web-api's UsersInfoResponse and AuthTestResponse. Errors propagate:
 * identity fails closed on them.
 */
export function slackDirectory(client: webApi.WebClient): SlackDirectory {
  return {
    async lookupUser(userId: string): Promise<SlackUserProfile> {
      const res = await client.users.info({ user: userId });
      const u = res.user;
      if (!u?.id) throw new Error('users.info returned no user');
      return {
        id: u.id,
        teamId: u.team_id,
        enterpriseId: u.enterprise_user?.enterprise_id ?? u.enterprise_id,
        email: u.profile?.email,
        deleted: u.deleted,
        isBot: Boolean(u.is_bot || u.is_workflow_bot),
        isRestricted: u.is_restricted,
        isUltraRestricted: u.is_ultra_restricted,
        isStranger: u.is_stranger,
      };
    },
    async whoAmI(): Promise<SlackOrg> {
      const res = await client.auth.test();
      return { teamId: res.team_id, ...(res.enterprise_id ? { enterpriseId: res.enterprise_id } : {}) };
    },
  };
}

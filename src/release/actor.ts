import type { AuditActor } from '../audit/log.js';
import type { Requester } from './types.js';

/** The audit log's actor for a requester: the way in, the chat user, the Conjur login. */
export function actorOf(r: Requester): AuditActor {
  return { via: r.via, chatUserId: r.chatUserId, conjurLogin: r.login };
}

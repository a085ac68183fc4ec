import { EventEmitter } from 'node:events';
import type { AuditEntry } from './audit/entries.js';
import type { ApprovalEventMap } from './release/approval-ledger.js';
import type { CoreEventMap } from './release/events.js';

/**
 * Everything the chat side hears of (the announcer, the audit watcher, approvals, the audit
 * forwarders, the policy notices): the core's events, the approvals', and each committed audit entry.
 */
export interface BusEventMap extends CoreEventMap, ApprovalEventMap {
  /** An audit entry was committed by this process (or by serve's release thread, forwarded): its forwarders send it, its watcher knows it as its own. */
  'audit-appended': [AuditEntry];
}

export type BusEvent = keyof BusEventMap;

/** One event of the bus as data: what serve's release thread sends the serving thread (app/bus-bridge.ts). */
export type BusMessage<K extends BusEvent = BusEvent> = { [P in K]: { name: P; args: BusEventMap[P] } }[K];

/** Every kind of event, once (the compiler refuses a kind left out): what a bridge subscribes to. */
export const BUS_EVENTS: { readonly [K in BusEvent]: K } = {
  staged: 'staged',
  'stage-conflict': 'stage-conflict',
  'release-started': 'release-started',
  'release-state': 'release-state',
  'destination-started': 'destination-started',
  'destination-progress': 'destination-progress',
  'destination-finished': 'destination-finished',
  'release-finished': 'release-finished',
  'release-denied': 'release-denied',
  'release-interrupted': 'release-interrupted',
  'policy-changed': 'policy-changed',
  'policy-rejected': 'policy-rejected',
  'approval-requested': 'approval-requested',
  'approval-recorded': 'approval-recorded',
  'approval-closed': 'approval-closed',
  'audit-appended': 'audit-appended',
};

/**
 * The one event bus of a process: created by the app's wiring (app/create.ts) and given to what emits
 * and what listens. Every event's payload is typed by `BusEventMap`. Listeners must not throw.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    // Every listener of the chat side, the forwarders and the approvals listen on the one bus.
    this.emitter.setMaxListeners(100);
  }

  on<K extends BusEvent>(name: K, listener: (...args: BusEventMap[K]) => void): this {
    this.emitter.on(name, listener);
    return this;
  }

  once<K extends BusEvent>(name: K, listener: (...args: BusEventMap[K]) => void): this {
    this.emitter.once(name, listener);
    return this;
  }

  off<K extends BusEvent>(name: K, listener: (...args: BusEventMap[K]) => void): this {
    this.emitter.off(name, listener);
    return this;
  }

  emit<K extends BusEvent>(name: K, ...args: BusEventMap[K]): boolean {
    return this.emitter.emit(name, ...args);
  }

  /** Emits an event received as data (from serve's release thread). */
  emitMessage<K extends BusEvent>(message: BusMessage<K>): boolean {
    return this.emit(message.name, ...message.args);
  }

  listenerCount(name: BusEvent): number {
    return this.emitter.listenerCount(name);
  }
}

// How serve's release thread (release-worker.ts) tells the serving thread what happens: every event of
// its bus, sent as data and emitted again on the serving thread's bus (release-thread.ts).
import { BUS_EVENTS, type BusEvent, type BusMessage, type EventBus } from '../src/events.js';

/** Sends every event emitted on `bus` as a message; the receiving thread emits it with `EventBus.emitMessage`. */
export function forwardBus(bus: EventBus, send: (message: BusMessage) => void): void {
  for (const name of Object.values(BUS_EVENTS)) forwardEvent(bus, name, send);
}

function forwardEvent<K extends BusEvent>(bus: EventBus, name: K, send: (message: BusMessage<K>) => void): void {
  bus.on(name, (...args) => send({ name, args }));
}

/**
 * The release thread's audit appends that the serving thread's bus has not carried yet: one Int32 both
 * threads share. The thread counts an append up before it commits (down if the commit fails); the
 * serving thread counts it down once its bus carried the entry. Until then the serving thread reads
 * the log as if the entry were not there (AuditLog's `unheardAppends`), so its audit watcher never
 * takes the thread's entry for another process's work and announces it twice.
 */
export class AppendsOnTheirWay {
  private readonly count: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.count = new Int32Array(buffer);
  }

  up(): void {
    Atomics.add(this.count, 0, 1);
  }

  down(): void {
    Atomics.sub(this.count, 0, 1);
  }

  pending(): boolean {
    return Atomics.load(this.count, 0) > 0;
  }

  /** The thread is gone: nothing is on its way any more. */
  reset(): void {
    Atomics.store(this.count, 0, 0);
  }
}

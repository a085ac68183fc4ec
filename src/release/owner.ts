import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { OwnerIdentity } from '../store/releases.js';

/**
 * What a process looks like from outside, so that another process (a CLI `publish`, a restarted
 * `serve`) can later tell whether the owner of a live release still exists. A pid alone is not
 * enough: after a reboot, or in a container where serve is always pid 1, the same pid belongs to
 * another process and a dead release would stay live for ever.
 */
export interface ProcessProbe {
  self: OwnerIdentity;
  /** Whether a process with this pid runs now and, when it can be read, its start time. */
  lookup(pid: number): { running: false } | { running: true; startTime: string | null };
}

const BOOT_ID = '/proc/sys/kernel/random/boot_id';

/** Field 22 of /proc/<pid>/stat: the start time in clock ticks since boot; null without /proc. */
export function procStartTime(pid: number): string | null {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // Field 2 (the command name) is in parentheses and may itself hold spaces and parentheses.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = fields[22 - 3];
  return ticks && /^\d+$/.test(ticks) ? `proc:${ticks}` : null;
}

function readBootId(): string | null {
  try {
    const id = readFileSync(BOOT_ID, 'utf8').trim();
    return id || null;
  } catch {
    return null;
  }
}

let self: OwnerIdentity | undefined;

/** This process, computed once: hostname, boot id, pid and start time. */
export function currentProcess(): OwnerIdentity {
  // Without /proc our own start time still comes from the clock (to the second), so a later process
  // with the same pid (a restarted container) is still told apart from this one.
  self ??= {
    host: hostname(),
    bootId: readBootId(),
    pid: process.pid,
    startTime: procStartTime(process.pid) ?? `clock:${Math.round(Date.now() / 1000 - process.uptime())}`,
  };
  return self;
}

function pidRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists, it is just not ours to signal.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export const systemProbe: ProcessProbe = {
  get self() {
    return currentProcess();
  },
  lookup(pid) {
    return pidRunning(pid) ? { running: true, startTime: procStartTime(pid) } : { running: false };
  },
};

const kind = (startTime: string) => startTime.slice(0, startTime.indexOf(':'));

/**
 * Whether the process that owns a release is provably gone. Anything uncertain counts as alive: a
 * release recovered while its owner still runs would let a second one publish beside it.
 */
export function ownerIsDead(
  owner: { host: string | null; bootId: string | null; pid: number | null; startTime: string | null },
  probe: ProcessProbe = systemProbe,
): boolean {
  const me = probe.self;
  // No owner recorded: nothing can be running it.
  if (owner.pid === null) return true;
  // Another machine's process cannot be looked up from here.
  if (owner.host && owner.host !== me.host) return false;
  if (owner.bootId && me.bootId && owner.bootId !== me.bootId) return true;
  if (owner.pid === me.pid) {
    // Our pid: it is this process only if it started when we did (a row without a start time predates
    // owner identities, and this process never ran it: it was created before we started).
    return owner.startTime !== me.startTime;
  }
  const found = probe.lookup(owner.pid);
  if (!found.running) return true;
  if (owner.startTime && found.startTime && kind(owner.startTime) === kind(found.startTime)) return owner.startTime !== found.startTime;
  return false;
}

import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readFileSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { makeTmpDir } from '../support/tmp.js';
import { currentProcess, ownerIsDead, procStartTime, systemProbe, type ProcessProbe } from '../../src/release/owner.js';

const me = { host: 'release-1', bootId: 'boot-a', pid: 4242, startTime: 'proc:1000' };
const probe = (running: Record<number, string | null>): ProcessProbe => ({
  self: me,
  lookup: (pid) => (pid in running ? { running: true, startTime: running[pid] ?? null } : { running: false }),
});

describe('the owner of a live release: dead only when provably gone', () => {
  it('tells a dead owner from a live one by host, boot, pid and start time', () => {
    const p = probe({ 7: 'proc:500', 8: null });
    expect(ownerIsDead({ host: 'release-1', bootId: 'boot-a', pid: 9, startTime: 'proc:1' }, p)).toBe(true); // no such pid
    expect(ownerIsDead({ host: 'release-1', bootId: 'boot-a', pid: 7, startTime: 'proc:500' }, p)).toBe(false); // running, same process
    expect(ownerIsDead({ host: 'release-1', bootId: 'boot-a', pid: 7, startTime: 'proc:499' }, p)).toBe(true); // pid reused
    expect(ownerIsDead({ host: 'release-1', bootId: 'boot-z', pid: 7, startTime: 'proc:500' }, p)).toBe(true); // rebooted since
    expect(ownerIsDead({ host: 'release-2', bootId: 'boot-z', pid: 9, startTime: 'proc:1' }, p)).toBe(false); // another machine: cannot tell
    expect(ownerIsDead({ host: 'release-1', bootId: null, pid: 8, startTime: 'proc:1' }, p)).toBe(false); // start time unreadable: alive
    expect(ownerIsDead({ host: 'release-1', bootId: null, pid: 7, startTime: null }, p)).toBe(false); // a row from before owner identities
    expect(ownerIsDead({ host: null, bootId: null, pid: null, startTime: null }, p)).toBe(true);
    // Our own pid: this process only when it started when we did (a container's pid 1 after a restart is not).
    expect(ownerIsDead({ ...me }, p)).toBe(false);
    expect(ownerIsDead({ ...me, startTime: 'proc:999' }, p)).toBe(true);
    expect(ownerIsDead({ ...me, startTime: null }, p)).toBe(true);
  });

  it('reads this machine: boot id, and start times from /proc/<pid>/stat field 22', async () => {
    const self = currentProcess();
    expect(self.pid).toBe(process.pid);
    if (!existsSync('/proc/self/stat')) {
      expect(self.startTime).toMatch(/^clock:\d+$/);
      return;
    }
    expect(self.bootId).toBe(readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim());
    expect(self.startTime).toMatch(/^proc:\d+$/);
    expect(ownerIsDead(self)).toBe(false);
    // A command name with spaces and parentheses does not shift the fields.
    // (The kernel names a process after the file it executes: a link to sleep with such a name.)
    const tmp = makeTmpDir();
    const odd = path.join(tmp.dir, 'odd) (x y');
    symlinkSync(execFileSync('sh', ['-c', 'command -v sleep'], { encoding: 'utf8' }).trim(), odd);
    const child = spawn(odd, ['30'], { stdio: 'ignore' });
    await new Promise((r) => child.once('spawn', r));
    try {
      await new Promise((r) => setTimeout(r, 100));
      const t = procStartTime(child.pid as number);
      expect(t).toMatch(/^proc:\d+$/);
      expect(Number(t?.slice(5))).toBeGreaterThanOrEqual(Number(self.startTime?.slice(5)));
      expect(systemProbe.lookup(child.pid as number)).toEqual({ running: true, startTime: t });
      expect(ownerIsDead({ ...self, pid: child.pid as number, startTime: t })).toBe(false);
      expect(ownerIsDead({ ...self, pid: child.pid as number })).toBe(true);
      expect(readFileSync(`/proc/${child.pid}/stat`, 'utf8')).toContain('(odd) (x y)');
    } finally {
      child.kill('SIGKILL');
      tmp.cleanup();
    }
  });
});

import { chmod, readdir, rm } from 'node:fs/promises';
import path from 'node:path';

/** Removes a read-only tree: a file in a 0555 directory cannot be unlinked, so directories are opened up first. */
export async function removeTree(root: string): Promise<void> {
  const unlock = async (dir: string): Promise<void> => {
    await chmod(dir, 0o700).catch(() => undefined);
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const e of entries) if (e.isDirectory()) await unlock(path.join(dir, e.name));
  };
  await unlock(root);
  await rm(root, { recursive: true, force: true });
}

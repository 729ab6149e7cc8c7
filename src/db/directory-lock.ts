/**
 * PGlite does not notice a second process opening its directory, and two writers corrupt it.
 * A lock file holding the owner's pid guards it; a lock left by a dead process is taken over.
 */
import { open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FatalError } from '../errors.ts';

export interface DirectoryLock {
  release(): Promise<void>;
}

export async function acquireDirectoryLock(dir: string): Promise<DirectoryLock> {
  const path = join(dir, 'workos-sync.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(path, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      return { release: () => rm(path, { force: true }) };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const owner = Number((await readFile(path, 'utf8').catch(() => '')).trim());
      if (Number.isInteger(owner) && owner > 0 && isAlive(owner)) {
        throw new FatalError(
          `the embedded database in ${dir} is in use by process ${owner}; stop it, or set DATABASE_URL to share a Postgres server`,
        );
      }
      await rm(path, { force: true });
    }
  }
  throw new FatalError(`could not lock the embedded database in ${dir}`);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

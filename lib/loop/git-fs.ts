// The file-system client handed to isomorphic-git. It is Node's fs.promises with one change:
// every file written inside the git directory (index, HEAD, refs, objects, config) goes to a
// temporary file first and is renamed over the target, as the git CLI does with its `.lock`
// files. isomorphic-git itself truncates and rewrites in place, so a process killed mid-write
// (kill -9 of the loop) could leave an empty index or ref behind; with rename the git CLI sees
// either the old file or the new one, never a torn one. Working-tree files are written as
// isomorphic-git writes them (in place), so their inodes and modes behave as usual.
import fs from 'node:fs';
import path from 'node:path';

let counter = 0;

type WriteData = Parameters<typeof fs.promises.writeFile>[1];
type WriteOptions = Parameters<typeof fs.promises.writeFile>[2];

/** Writes `file` through a temporary sibling and a rename, so readers never see it half written. */
async function atomicWriteFile(file: string, data: WriteData, options?: WriteOptions): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${counter++}`;
  try {
    await fs.promises.writeFile(tmp, data, options);
    await fs.promises.rename(tmp, file);
  } catch (error) {
    await fs.promises.rm(tmp, { force: true });
    throw error;
  }
}

/** The fs client for isomorphic-git on the repository whose git directory is `gitdir`. */
export function gitFsClient(gitdir: string): { promises: typeof fs.promises } {
  const inside = path.resolve(gitdir) + path.sep;
  const base = fs.promises;
  const promises = Object.create(base) as typeof fs.promises;
  promises.writeFile = (file, data, options) => {
    if (typeof file === 'string' && path.resolve(file).startsWith(inside)) return atomicWriteFile(file, data, options);
    return base.writeFile(file, data, options);
  };
  // isomorphic-git picks the promise API only when `promises` is an own enumerable property.
  return { promises };
}

// Building the addon in the installed package (`npx autoresearch rebuild`): the code lives in
// scripts/build-addon.js, which the install fallback runs before any TypeScript is compiled;
// this is its typed face.
import path from 'node:path';

import { packageRoot } from '../native/load';
import type { BuildRecord } from '../native/load';

export interface RebuildResult {
  ok: boolean;
  seconds: number;
  /** The binary built (build/Release/autoresearch.node in the package). */
  binary?: string;
  record?: BuildRecord & { binaries: string[] };
  message: string;
}

interface BuildScript {
  buildAddon(options: { install?: boolean }): Promise<RebuildResult>;
  jobs(): number;
}

function script(): BuildScript {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require(path.join(packageRoot(), 'scripts', 'build-addon.js')) as BuildScript;
}

/** Make jobs the build uses: JOBS, else every core. */
export function rebuildJobs(): number {
  return script().jobs();
}

/**
 * Compiles the addon against the libtorch found now (Torch_DIR, CMAKE_PREFIX_PATH, LIBTORCH,
 * the torch Python package, the system's), with every core (JOBS to choose), into the
 * package's build/Release, and writes its build record. The compiler's progress goes to this
 * process's stdout/stderr. Never throws: `ok` and `message` say how it went.
 */
export async function rebuildAddon(options: { jobs?: number } = {}): Promise<RebuildResult> {
  const previous = process.env.JOBS;
  if (options.jobs !== undefined) process.env.JOBS = String(options.jobs);
  try {
    return await script().buildAddon({ install: false });
  } finally {
    if (options.jobs !== undefined) {
      if (previous === undefined) delete process.env.JOBS;
      else process.env.JOBS = previous;
    }
  }
}

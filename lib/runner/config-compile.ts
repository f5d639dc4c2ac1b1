// The first half of loading train/config.ts, in the process that starts a run: the agent's
// TypeScript becomes one self-contained CommonJS function body (esbuild, which tsx brings).
// The config may import types only: `import type` lines vanish here, and every other import
// (a module, `node:fs`, the package itself, `require('x')`, `import('x')`) is a ConfigError
// naming the line. Nothing in the config runs here; config-sandbox.ts evaluates the result.
import fs from 'node:fs/promises';
import path from 'node:path';

import * as esbuild from 'esbuild';

import { ConfigError } from '../errors';

/** The config as text that config-sandbox.ts can evaluate. */
export interface CompiledConfig {
  /** The file it came from (for messages). */
  file: string;
  /** CommonJS body: assigns `module.exports`; uses no free variables but `module` and `exports`. */
  code: string;
}

const ONLY_TYPES = 'the config may only import types (`import type { ExperimentConfig } from "autoresearch"`); it runs in a sandbox without modules';

function where(file: string, message: esbuild.Message): string {
  const loc = message.location;
  if (!loc) return `${file}: ${message.text}`;
  return `${file}:${loc.line}:${loc.column + 1}: ${message.text}\n    ${loc.lineText.trim()}`;
}

/** Transpiles the config module; throws ConfigError for syntax errors and value imports. */
export async function compileConfig(configPath: string, displayName = 'train/config.ts'): Promise<CompiledConfig> {
  let source: string;
  try {
    source = await fs.readFile(configPath, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigError(
      code === 'ENOENT'
        ? `no config at ${configPath}: run \`npx autoresearch init\` to write one, or pass the folder that holds train/config.ts`
        : `${configPath} cannot be read: ${(err as Error).message}`,
    );
  }
  return compileConfigSource(source, displayName, path.dirname(configPath));
}

/** compileConfig() of a config's text (a job of the parallel loop carries the text, not a path). */
export async function compileConfigSource(source: string, displayName = 'train/config.ts', resolveDir = process.cwd()): Promise<CompiledConfig> {
  let result: esbuild.BuildResult & { outputFiles: esbuild.OutputFile[] };
  try {
    result = await esbuild.build({
      stdin: { contents: source, loader: 'ts', sourcefile: displayName, resolveDir },
      bundle: true,
      write: false,
      format: 'cjs',
      platform: 'neutral',
      target: 'es2022',
      logLevel: 'silent',
      legalComments: 'none',
      // Imports stay as written, so `import { X }` is an import (refused) and `import type` is not.
      tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
      plugins: [
        {
          name: 'types-only',
          setup(build) {
            build.onResolve({ filter: /.*/ }, (args) => (args.kind === 'entry-point' ? undefined : { errors: [{ text: `'${args.path}': ${ONLY_TYPES}` }] }));
          },
        },
      ],
    });
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!Array.isArray(failure.errors)) throw err;
    throw new ConfigError(`${displayName} does not compile:\n${failure.errors.map((m) => where(displayName, m)).join('\n')}`);
  }
  // import() of a computed name is left in the output. It must not reach the sandbox: Node
  // rejects it with an error of the host's realm, and from that the host's Function is one
  // property away. esbuild prints every import() as `import(` (comments are dropped), so this
  // finds them all; a string that contains the word is refused too, and can be reworded.
  const code = result.outputFiles[0]!.text;
  if (/\bimport\s*\(/.test(code)) {
    const lines = source.split('\n');
    const direct = lines.findIndex((l) => /\bimport\s*\(/.test(l));
    const line = direct >= 0 ? direct : lines.findIndex((l) => /\bimport\b/.test(l) && !/^\s*import\s+type\b/.test(l));
    const at = line >= 0 ? `${displayName}:${line + 1}: ` : `${displayName}: `;
    throw new ConfigError(`${displayName} does not compile:\n${at}import() is not allowed: ${ONLY_TYPES}`);
  }
  return { file: displayName, code };
}

// Named errors for the cases users act on. Everything the addon throws arrives as a plain
// Error whose message names the problem and the fix; these classes mark the situations a
// caller may want to tell apart programmatically.

/** The native addon could not be loaded; the message lists the concrete fixes. */
export class AddonLoadError extends Error {
  override name = 'AddonLoadError';
  constructor(
    message: string,
    /** The fixes that apply to the cause found, one per entry. */
    readonly fixes: string[],
    options?: { cause?: unknown },
  ) {
    super(`${message}\nPossible solutions:\n${fixes.map((f) => `- ${f}`).join('\n')}`, options);
  }
}

/** A configuration value is invalid; the message says which and what would work. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** A checkpoint file is missing, truncated or not a checkpoint of this model. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

/** An object was used after dispose(). */
export class DisposedError extends Error {
  override name = 'DisposedError';
}

/** A tokenizer directory is missing a file or holds a corrupt one; the message names the file. */
export class TokenizerError extends Error {
  override name = 'TokenizerError';
}

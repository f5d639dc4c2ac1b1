// Every environment variable the package reads, in one place, all prefixed AUTORESEARCH_ (plus
// OPENAI_API_KEY, the conventional name of an OpenAI key, as a fallback of AUTORESEARCH_API_KEY).

function positiveInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name}=${raw} is not a positive integer`);
  return value;
}

function nonNegativeInt(name: string): number | undefined {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new Error(`${name}=${raw} is not a whole number >= 0`);
  return value;
}

// Read natively: AUTORESEARCH_SYSTEM_MALLOC=1 keeps glibc's default of returning freed
// memory to the OS (see native/runtime/allocator.h). OMP_WAIT_POLICY is chosen for the BLAS
// (lib/native/blas-threading.ts), OPENBLAS_CORETYPE for the CPU (lib/native/blas-kernels.ts).
export const env = {
  /** AUTORESEARCH_CACHE_DIR: where prepared data lives (default ~/.cache/autoresearch). */
  cacheDir: (): string | undefined => process.env.AUTORESEARCH_CACHE_DIR || undefined,
  /** AUTORESEARCH_THREADS: intra-op threads (default: the machine's cores). */
  threads: (): number | undefined => positiveInt('AUTORESEARCH_THREADS'),
  /**
   * AUTORESEARCH_OPENBLAS_CORETYPE: `auto` (default: AVX-512 kernels on an AMD AVX-512 CPU),
   * `keep` (OPENBLAS_CORETYPE as the environment has it) or an OpenBLAS core name
   * (lib/native/blas-kernels.ts).
   */
  openblasCoreType: (): string | undefined => process.env.AUTORESEARCH_OPENBLAS_CORETYPE || undefined,
  /**
   * AUTORESEARCH_HEAP_WARMUP_MB: heap a CPU training process makes resident while libtorch loads
   * (default 384; 0 turns it off; lib/native/heap-warmup.ts).
   */
  heapWarmupMb: (): number | undefined => nonNegativeInt('AUTORESEARCH_HEAP_WARMUP_MB'),
  /**
   * AUTORESEARCH_SYSTEM_MALLOC=1: glibc's default malloc settings (also read natively,
   * native/runtime/allocator.h); no heap warm-up either.
   */
  systemMalloc: (): boolean => process.env.AUTORESEARCH_SYSTEM_MALLOC === '1',
  /** AUTORESEARCH_ADDON: load this .node file instead of searching prebuilds/ and build/. */
  addonPath: (): string | undefined => process.env.AUTORESEARCH_ADDON || undefined,
  /** AUTORESEARCH_TEST_ADDON=1: load the test addon (with the test hooks) from build/Release/ first; the test-suite sets it. */
  testAddon: (): boolean => process.env.AUTORESEARCH_TEST_ADDON === '1',
  /** AUTORESEARCH_TIME_BUDGET: training seconds per experiment (default 300). */
  timeBudget: (): number | undefined => positiveInt('AUTORESEARCH_TIME_BUDGET'),
  /** AUTORESEARCH_DEVICE: auto | cpu | cuda | cuda:N (default auto). */
  device: (): string => process.env.AUTORESEARCH_DEVICE || 'auto',
  /**
   * AUTORESEARCH_DATA_BASE_URL: fetch dataset shards from this URL instead of the dataset's
   * default (a mirror or a local server); shard paths are appended to it.
   */
  dataBaseUrl: (): string | undefined => process.env.AUTORESEARCH_DATA_BASE_URL || undefined,
  /**
   * AUTORESEARCH_OPENAI_BASE_URL: the OpenAI-compatible API the `openai:<model>` agent talks to
   * (default https://api.openai.com/v1; any server with /chat/completions works).
   */
  openaiBaseUrl: (): string | undefined => process.env.AUTORESEARCH_OPENAI_BASE_URL || undefined,
  /** AUTORESEARCH_API_KEY, else OPENAI_API_KEY: the bearer token of the `openai:<model>` agent. */
  apiKey: (): string | undefined => process.env.AUTORESEARCH_API_KEY || process.env.OPENAI_API_KEY || undefined,
};

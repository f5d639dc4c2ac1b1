// The one seeded PRNG of the TypeScript side (mulberry32): the built-in agent's proposals, the
// sampler's draws and the synthetic batches of the timings and tests all come from it, so a
// seed means the same stream everywhere. Not for anything secret.

/** Numbers in [0, 1) from a 32-bit seed (taken modulo 2^32); the same seed, the same stream. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A small seeded generator (32-bit state, xorshift-multiply mixing) returning floats in
 * [0, 1). Visualization methods take one so that a seed gives the same points on every
 * run and machine; without a seed a random one is drawn.
 */
export type Random = () => number;

export function seededRandom(seed: number | null | undefined): Random {
  let state = (seed ?? Math.floor(Math.random() * 2 ** 32)) >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

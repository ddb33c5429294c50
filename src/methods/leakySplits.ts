import { NearDuplicates } from "./nearDuplicates";

/**
 * Leaky splits (spec §7): near duplicates that cross split boundaries, with the
 * reference's semantics. Splits are given per item (later splits win when an item is
 * in several, as the reference's id→split map does); items in no split are -1.
 *
 * Reproduced as the reference behaves: only duplicates whose split differs from their
 * group's kept item are leaks, and groups whose kept item is in no split are ignored.
 */
export interface SplitAssignment {
  /** Split index of each item, -1 when in none. */
  splitOf: Int32Array;
  /** Pairs of splits that share items, with how many: the reference warns about these. */
  overlaps: { a: number; b: number; count: number }[];
}

/** Assigns items to splits given as membership lists, in split order. */
export function assignSplits(n: number, members: readonly (readonly number[])[]): SplitAssignment {
  const splitOf = new Int32Array(n).fill(-1);
  const overlaps = new Map<string, { a: number; b: number; count: number }>();
  members.forEach((items, s) => {
    for (const i of items) {
      const previous = splitOf[i];
      if (previous >= 0 && previous !== s) {
        const key = `${previous}:${s}`;
        const entry = overlaps.get(key) ?? { a: previous, b: s, count: 0 };
        entry.count++;
        overlaps.set(key, entry);
      }
      splitOf[i] = s;
    }
  });
  return { splitOf, overlaps: [...overlaps.values()] };
}

/** Leak ids in the reference's order: each group's kept item, then its duplicates from other splits. */
export function findLeaks(duplicates: NearDuplicates, splitOf: ArrayLike<number>): number[] {
  return leakGroups(duplicates, splitOf).flatMap((g) => [g.kept, ...g.leaks.map((e) => e.index)]);
}

/** The items that leak with one item, as the reference's leaks_for_sample lists them. */
export function leaksForItem(duplicates: NearDuplicates, splitOf: Int32Array, item: number): number[] {
  const own = duplicates.neighborsMap.get(item);
  if (own) return [item, ...own.filter((e) => splitOf[e.index] !== splitOf[item]).map((e) => e.index)];
  for (const [kept, group] of duplicates.neighborsMap) {
    if (!group.some((e) => e.index === item)) continue;
    const others = group.filter((e) => e.index !== item && splitOf[e.index] !== splitOf[item]).map((e) => e.index);
    return [item, ...others, kept];
  }
  return [item];
}

/** One leak group: a kept item and its near duplicates from other splits, nearest first. */
export interface LeakGroup {
  kept: number;
  leaks: { index: number; dist: number }[];
}

/** The leaks as groups (same items and order as findLeaks), for browsing pairs across splits. */
export function leakGroups(duplicates: NearDuplicates, splitOf: ArrayLike<number>): LeakGroup[] {
  const groups: LeakGroup[] = [];
  for (const [kept, group] of duplicates.neighborsMap) {
    const split = splitOf[kept];
    if (split < 0) continue;
    const leaks = group.filter((e) => splitOf[e.index] >= 0 && splitOf[e.index] !== split);
    if (leaks.length) groups.push({ kept, leaks });
  }
  return groups;
}

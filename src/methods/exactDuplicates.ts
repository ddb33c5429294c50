/**
 * Exact duplicates: samples whose media files are byte-identical.
 *
 * Grouping over (id, content hash) pairs in collection order: the first id seen for a
 * hash represents its group, later ids are its duplicates (the reference's semantics).
 * Pairs can be fed in batches, so callers stream samples instead of loading them all.
 */
export type DuplicateGroups = Record<string, string[]>;

export class DuplicateGrouper {
  private readonly firstByHash = new Map<string, { id: string; seq: number }>();
  private readonly groups = new Map<string, { seq: number; ids: string[] }>();

  add(id: string, hash: string): void {
    const first = this.firstByHash.get(hash);
    if (first === undefined) {
      this.firstByHash.set(hash, { id, seq: this.firstByHash.size });
      return;
    }
    const group = this.groups.get(first.id);
    if (group) group.ids.push(id);
    else this.groups.set(first.id, { seq: first.seq, ids: [id] });
  }

  /** Groups in the order their representatives were first seen. */
  result(): DuplicateGroups {
    const entries = [...this.groups.entries()].sort((a, b) => a[1].seq - b[1].seq);
    return Object.fromEntries(entries.map(([rep, g]) => [rep, g.ids]));
  }
}

export function groupByHash(ids: readonly string[], hashes: readonly (string | null)[]): DuplicateGroups {
  if (ids.length !== hashes.length) {
    throw new Error(`groupByHash: ${ids.length} ids but ${hashes.length} hashes`);
  }
  const grouper = new DuplicateGrouper();
  ids.forEach((id, i) => {
    const hash = hashes[i];
    if (hash !== null) grouper.add(id, hash); // unreadable media are reported, never grouped
  });
  return grouper.result();
}

export interface DuplicateSummary {
  numGroups: number;
  numDuplicates: number;
}

export function summarize(groups: DuplicateGroups): DuplicateSummary {
  const lists = Object.values(groups);
  return { numGroups: lists.length, numDuplicates: lists.reduce((n, l) => n + l.length, 0) };
}

/** Ids in display order: each representative followed by its duplicates. */
export function orderedIds(groups: DuplicateGroups): string[] {
  return Object.entries(groups).flatMap(([rep, dups]) => [rep, ...dups]);
}

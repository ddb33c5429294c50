import * as fos from "@fiftyone/state";
import { useRecoilCallback } from "recoil";

/**
 * Adds a field to the grid's active fields, so its value shows on every tile (as the
 * sidebar's checkbox does). Active fields the user chose stay active.
 */
export function useShowOnTiles(): (path: string) => Promise<void> {
  return useRecoilCallback(
    ({ set, snapshot }) =>
      async (path: string) => {
        const field = fos.activeField({ modal: false, path });
        // The App's setter prepends without checking, and a field listed twice shows twice.
        if (!(await snapshot.getPromise(field))) set(field, true);
      },
    [],
  );
}

import { realpathSync, statSync } from "node:fs";
import { isAbsolute, resolve, sep } from "node:path";
import { ValidationError } from "../../src/shared/errors.ts";

// The little the sandbox plan needs to know about the file system, behind an interface so the plan stays a
// pure function of (spec, view) and unit tests can describe a machine without building it.

export type PathKind = "dir" | "file" | "other" | "missing";

export interface FsView {
  /** What the path is, symbolic links followed; "other" is a socket, fifo or device. */
  kind(path: string): PathKind;
  /** The path with symbolic links resolved, or the normalised path when it does not exist. */
  canonical(path: string): string;
}

export const hostFs: FsView = {
  kind(path) {
    const stat = statSync(path, { throwIfNoEntry: false });
    if (!stat) return "missing";
    return stat.isDirectory() ? "dir" : stat.isFile() ? "file" : "other";
  },
  canonical(path) {
    try {
      return realpathSync(path);
    } catch {
      return resolve(path);
    }
  },
};

/** Segments below `/`: `/` is 0, `/tmp` 1, `/tmp/a` 2. */
export function depth(path: string): number {
  return path === sep ? 0 : path.split(sep).length - 1;
}

/** True when `path` is `root` or lies below it (both absolute and normalised). */
export function within(root: string, path: string): boolean {
  if (root === sep) return true;
  return path === root || path.startsWith(root + sep);
}

export function assertAbsolute(path: string, what: string): void {
  if (!path || !isAbsolute(path)) throw new ValidationError(`${what} must be an absolute path, not "${path}"`);
}

/** `~` and `~/…` against the given home; anything else must already be absolute. */
export function expandHome(path: string, home: string): string {
  if (path === "~") return home;
  if (path.startsWith("~/")) return resolve(home, path.slice(2));
  return path;
}

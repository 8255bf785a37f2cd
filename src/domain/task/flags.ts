import { assertNever } from "../events.ts";
import type { DiffStat } from "./diff-stat.ts";

// What deserves a closer look in a result (DESIGN §14, issue 16): changes to paths a person wants to see
// before they merge (`review.sensitivePaths`: lockfiles, CI config, migrations, environment files) and
// deletions over a threshold. Worked out once, when the result is reported, from the paths the run changed;
// the flags are recorded with the result, so a card shows what was flagged then, whatever the config says later.

/** One path a run changed, against the task's base (`git diff --name-status`). */
export interface ChangedPath {
  path: string;
  change: "added" | "modified" | "deleted" | "renamed";
  /** A rename's old path. */
  from?: string;
}

export type ReviewFlag =
  | { kind: "sensitive"; paths: string[]; count: number }
  | { kind: "deletions"; lines: number; threshold: number; removed: string[]; removedCount: number }
  /** More paths changed than a report carries: the sensitive paths could not all be looked at. */
  | { kind: "unchecked"; files: number };

export interface FlagSettings {
  sensitivePaths: readonly string[];
  /** Deleted lines above this are flagged. */
  flagDeletionsOver: number;
}

/** The default `review.sensitivePaths`: lockfiles, CI config, migrations, environment files. */
export const DEFAULT_SENSITIVE_PATHS: readonly string[] = [
  "*.lock",
  "package-lock.json",
  "npm-shrinkwrap.json",
  "pnpm-lock.yaml",
  "bun.lockb",
  "go.sum",
  ".github/workflows/",
  ".github/actions/",
  ".gitlab-ci.yml",
  ".circleci/",
  ".buildkite/",
  "Jenkinsfile",
  "azure-pipelines.yml",
  ".travis.yml",
  "migrations/",
  ".env*",
];

/** A report carries at most this many changed paths; a run that changed more is flagged `unchecked`. */
export const MAX_CHANGED_PATHS = 5000;
/** A flag names this many paths; the rest are counted. */
const PATHS_SHOWN = 10;

export function reviewFlags(
  run: { changes?: readonly ChangedPath[] | null; diffStat: DiffStat | null },
  settings: FlagSettings,
): ReviewFlag[] {
  const flags: ReviewFlag[] = [];
  const changes = run.changes ?? [];
  const sensitive = new Set<string>();
  for (const change of changes) {
    for (const path of change.from ? [change.from, change.path] : [change.path]) {
      if (settings.sensitivePaths.some((pattern) => matchesPathPattern(path, pattern))) sensitive.add(path);
    }
  }
  if (sensitive.size) flags.push({ kind: "sensitive", paths: [...sensitive].sort().slice(0, PATHS_SHOWN), count: sensitive.size });
  const files = run.diffStat?.files ?? 0;
  if (run.changes && files > changes.length) flags.push({ kind: "unchecked", files });
  const deleted = run.diffStat?.deletions ?? 0;
  if (deleted > settings.flagDeletionsOver) {
    const removed = changes.filter((c) => c.change === "deleted").map((c) => c.path).sort();
    flags.push({ kind: "deletions", lines: deleted, threshold: settings.flagDeletionsOver, removed: removed.slice(0, PATHS_SHOWN), removedCount: removed.length });
  }
  return flags;
}

/** A flag as one line: `⚑ sensitive: package-lock.json, migrations/0007.sql`. */
export function flagText(flag: ReviewFlag): string {
  const list = (paths: string[], count: number) => `${paths.join(", ")}${count > paths.length ? ` and ${count - paths.length} more` : ""}`;
  switch (flag.kind) {
    case "sensitive":
      return `⚑ sensitive: ${list(flag.paths, flag.count)}`;
    case "deletions":
      return `⚑ ${flag.lines} lines deleted (over ${flag.threshold})${flag.removedCount ? `; removed: ${list(flag.removed, flag.removedCount)}` : ""}`;
    case "unchecked":
      return `⚑ ${flag.files} files changed: too many to look for sensitive paths`;
    default:
      return assertNever(flag);
  }
}

/**
 * Whether `path` (relative to the repository, `/`-separated) matches `pattern`, read the way `.gitignore`
 * reads one: `*` and `?` stay within a name, `**` crosses folders; a pattern with no `/` but a trailing one
 * matches a name at any depth (`*.lock`, `.env*`, `migrations/`); any other `/` anchors it at the root
 * (`.github/workflows/`, `/config/prod.yml`); a trailing `/` matches only a folder, i.e. everything in it.
 * A pattern that matches a folder matches every path below it.
 */
export function matchesPathPattern(path: string, pattern: string): boolean {
  const folderOnly = pattern.endsWith("/");
  let body = pattern.replace(/^\.\//, "").replace(/\/+$/, "");
  const anchored = body.includes("/");
  body = body.replace(/^\/+/, "");
  if (!body) return false;
  const glob = globExpression(body);
  const names = path.split("/");
  const last = folderOnly ? names.length - 1 : names.length;
  if (anchored) {
    for (let i = 1; i <= last; i++) if (glob.test(names.slice(0, i).join("/"))) return true;
    return false;
  }
  return names.slice(0, last).some((name) => glob.test(name));
}

function globExpression(glob: string): RegExp {
  let source = "";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*" && glob[i + 1] === "*") {
      const slash = glob[i + 2] === "/";
      source += slash ? "(?:.*/)?" : ".*";
      i += slash ? 2 : 1;
    } else if (c === "*") source += "[^/]*";
    else if (c === "?") source += "[^/]";
    else source += c.replace(/[.+^${}()|[\]\\]/g, "\\$&");
  }
  return new RegExp(`^${source}$`);
}

import { ValidationError } from "../shared/errors.ts";

// Strict input (DESIGN §11: an unknown field is a 400 naming it). zod's strictObject refuses a field it does not
// know; this says which, and which known field was likely meant: `{"blocked_by": [1]}` must not queue a task
// with no blockers, and `{"note": "…"}` must not lose the note.

interface Issue {
  code?: string;
  path: PropertyKey[];
  message: string;
  keys?: string[];
}

interface Schema<T> {
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: Issue[] } };
}

/** Another name a person may well reach for, by field: `after` is the CLI's and chat's word for `blockedBy`. */
export type Aliases = Record<string, string>;

/** Parses `value`, or throws a ValidationError naming the first bad field (and for an unknown one, its likely name). */
export function parseStrict<T>(schema: Schema<T>, value: unknown, aliases: Aliases = {}): T {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const where = issue.path.map(String).join(".");
  if (issue.code === "unrecognized_keys" && issue.keys?.length) {
    const known = keysAt(schema, issue.path);
    const message = issue.keys.map((key) => unknownField(key, known, aliases)).join("; ");
    throw new ValidationError(where ? `${where}: ${message}` : message);
  }
  throw new ValidationError(`${where || "body"}: ${issue.message}`);
}

export function unknownField(key: string, known: readonly string[], aliases: Aliases = {}): string {
  const guess = aliases[key] ?? closest(key, known);
  return `unknown field "${key}"${guess ? `; did you mean "${guess}"?` : known.length ? ` (fields: ${known.join(", ")})` : ""}`;
}

/** The known field a mistyped one most likely meant: the same but for case, `_` and `-`, or at most two edits away. */
function closest(key: string, known: readonly string[]): string | null {
  const plain = (s: string) => s.toLowerCase().replace(/[_-]/g, "");
  const same = known.find((k) => plain(k) === plain(key));
  if (same) return same;
  let best: { key: string; distance: number } | null = null;
  for (const candidate of known) {
    const distance = editDistance(plain(key), plain(candidate));
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key ?? null;
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

type Def = { shape?: Record<string, unknown>; innerType?: unknown; element?: unknown; options?: unknown[] };
const defOf = (schema: unknown): Def => ((schema as { _zod?: { def?: Def } })?._zod?.def ?? {}) as Def;

/** The fields of the object schema at `path` (optional, nullable and default wrappers seen through; a union's are all its options'). */
function keysAt(schema: unknown, path: readonly PropertyKey[]): string[] {
  const unwrap = (s: unknown): unknown => {
    let current = s;
    while (defOf(current).innerType) current = defOf(current).innerType;
    return current;
  };
  let current = unwrap(schema);
  for (const segment of path) {
    const def = defOf(current);
    if (def.shape && typeof segment === "string" && segment in def.shape) current = unwrap(def.shape[segment]);
    else if (def.element && typeof segment === "number") current = unwrap(def.element);
    else return [];
  }
  const def = defOf(current);
  if (def.shape) return Object.keys(def.shape);
  return [...new Set((def.options ?? []).flatMap((o) => Object.keys(defOf(unwrap(o)).shape ?? {})))];
}

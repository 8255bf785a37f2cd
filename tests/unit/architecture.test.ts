import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "../helpers.ts";

// Issue 11's rules of the house, checked on the code itself so that a later change cannot quietly break
// them: arrows point down (src/ never imports the resolver, the runner or the handlers), handlers hold no
// SQL, and no module reaches itself again through its imports (type imports and dynamic ones included).

const LAYERS = ["src", "handlers", "resolver", "runner"];

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && /\.tsx?$/.test(e.name))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)));
}

/** Every relative module a file names: `import … from`, `export … from` and `import("…")`. */
function importsOf(file: string, text: string): string[] {
  const specifiers = [...text.matchAll(/(?:\bfrom\s*|\bimport\s*\(\s*|^\s*import\s+)["']([^"']+)["']/gm)].map((m) => m[1]!);
  return specifiers.filter((s) => s.startsWith(".")).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

/** The first circle found among the files' imports, as the files in order, or null. */
function findCircle(graph: Map<string, string[]>): string[] | null {
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (file: string): string[] | null => {
    if (state.get(file) === "done") return null;
    if (state.get(file) === "open") return [...path.slice(path.indexOf(file)), file];
    state.set(file, "open");
    path.push(file);
    for (const next of graph.get(file) ?? []) {
      if (!graph.has(next)) continue;
      const circle = visit(next);
      if (circle) return circle;
    }
    path.pop();
    state.set(file, "done");
    return null;
  };
  for (const file of graph.keys()) {
    const circle = visit(file);
    if (circle) return circle;
  }
  return null;
}

const files = LAYERS.flatMap(sourceFiles);
const graph = new Map(files.map((f) => [f, importsOf(f, readFileSync(join(ROOT, f), "utf8"))]));

describe("the house's rules (issue 11)", () => {
  it("reads the code it checks", () => {
    expect(files.length).toBeGreaterThan(100);
    expect(graph.get("src/app/tasks.ts")).toContain("src/app/task-read.ts");
  });

  it("src/ imports nothing from resolver/, runner/ or handlers/", () => {
    const upward = [...graph].flatMap(([file, imports]) =>
      file.startsWith("src/") ? imports.filter((i) => /^(resolver|runner|handlers)\//.test(i)).map((i) => `${file} → ${i}`) : [],
    );
    expect(upward).toEqual([]);
  });

  it("handlers hold no SQL: they reach the store through src/", () => {
    const sql = /\b(SELECT\s+[\w*(]|INSERT\s+INTO\b|UPDATE\s+\w+\s+SET\b|DELETE\s+FROM\b)/;
    const withSql = files.filter((f) => f.startsWith("handlers/") && sql.test(readFileSync(join(ROOT, f), "utf8")));
    expect(withSql).toEqual([]);
  });

  it("no module imports itself again through others", () => {
    expect(findCircle(graph)).toBeNull();
  });

  it("the circle finder finds a circle, and names it in order", () => {
    const g = new Map([
      ["a.ts", ["b.ts"]],
      ["b.ts", ["c.ts"]],
      ["c.ts", ["a.ts", "outside.ts"]],
    ]);
    expect(findCircle(g)).toEqual(["a.ts", "b.ts", "c.ts", "a.ts"]);
    expect(findCircle(new Map([["a.ts", ["b.ts"]], ["b.ts", []]]))).toBeNull();
    expect(importsOf("src/x/y.ts", `import { a } from "../z.ts";\nexport * from "./w.ts";\nconst m = await import("./v.ts");\nimport "./side.ts";`)).toEqual([
      "src/z.ts",
      "src/x/w.ts",
      "src/x/v.ts",
      "src/x/side.ts",
    ]);
  });
});

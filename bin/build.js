// Bundles the TypeScript sources with esbuild into a folder named by a fingerprint of the sources
// (path, size, mtime). Several processes may start at once: each builds into its own temp folder and
// renames it into place; whoever loses the race uses the winner's folder.
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const SOURCE_DIRS = ["src", "handlers", "resolver", "runner"];
const ENTRIES = ["handlers/cli/main.ts"];
// Entries bundled on their own, without sharing chunks with the CLI: split together, the CLI's code
// lands in more, smaller chunks, and every `cos` start pays for loading them.
const STANDALONE_ENTRIES = ["src/store/rebuild-worker.ts"];

function listSources(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) listSources(path, out);
    else if (/\.tsx?$/.test(entry.name) && !entry.name.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

function fingerprint() {
  let text = "";
  const files = SOURCE_DIRS.flatMap((d) => listSources(join(root, d), [])).sort();
  for (const file of [...files, join(root, "package.json"), join(root, "bin", "build.js")]) {
    const s = statSync(file);
    text += `${relative(root, file)}:${s.size}:${s.mtimeMs}\n`;
  }
  return fnv1a(text);
}

// zod re-exports every locale (360 KB) as `z.locales`; we use only the English messages it installs
// itself, and parsing the rest would cost every `cos` start about 20 ms.
const withoutZodLocales = {
  name: "without-zod-locales",
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      args.importer.includes(`${"node_modules"}/zod/`) ? { path: "zod-locales", namespace: "empty" } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: "empty" }, () => ({ contents: "export {};", loader: "js" }));
  },
};

/** Two 32-bit FNV-1a hashes as hex: enough to tell builds apart; node:crypto would cost every start 5 ms. */
function fnv1a(text) {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ 0x5bd1e995;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
  }
  return (a >>> 0).toString(16).padStart(8, "0") + (b >>> 0).toString(16).padStart(8, "0");
}

/**
 * How `cos` is bundled; the bench bundles its workers with the same options, so it times the code
 * `cos` runs. Pure-JS dependencies are bundled (one file parses faster than hundreds resolve);
 * native and process-spawning ones stay in node_modules.
 */
export const BUNDLE_OPTIONS = {
  absWorkingDir: root,
  bundle: true,
  format: "esm",
  platform: "node",
  target: "node20",
  external: ["libsql", "@libsql/*", "esbuild", "execa", "simple-git"],
  banner: { js: "import { createRequire as __cosRequire } from 'node:module'; const require = __cosRequire(import.meta.url);" },
  logLevel: "error",
  plugins: [withoutZodLocales],
};

export async function ensureBuild(entry) {
  const out = join(root, "dist", fingerprint());
  const target = join(out, entry.replace(/\.ts$/, ".js"));
  if (existsSync(target)) return pathToFileURL(target).href;

  const { build } = await import("esbuild");
  mkdirSync(join(root, "dist"), { recursive: true });
  const tmp = `${out}.tmp-${process.pid}-${Date.now()}`;
  await build({
    ...BUNDLE_OPTIONS,
    entryPoints: ENTRIES,
    outdir: tmp,
    outbase: root,
    splitting: true,
    sourcemap: "linked",
  });
  for (const standalone of STANDALONE_ENTRIES) {
    await build({ ...BUNDLE_OPTIONS, entryPoints: [standalone], outdir: tmp, outbase: root, sourcemap: "linked" });
  }
  try {
    renameSync(tmp, out);
  } catch {
    rmSync(tmp, { recursive: true, force: true });
  }
  pruneOldBuilds(out);
  return pathToFileURL(target).href;
}

// Old builds are removed once they are a day old: a process started on one may still load its chunks.
function pruneOldBuilds(keep) {
  const dist = join(root, "dist");
  const dayAgo = Date.now() - 24 * 3600 * 1000;
  for (const name of readdirSync(dist)) {
    const path = join(dist, name);
    if (path === keep) continue;
    try {
      if (statSync(path).mtimeMs < dayAgo) rmSync(path, { recursive: true, force: true });
    } catch {
      // another process removed it first
    }
  }
}

#!/usr/bin/env node
// The deterministic agent `cos demo` uses: it reads its prompt like any agent, writes a few files
// into its working folder for the task it was given, and reports with the sections of DESIGN §7.
// On the design system's first attempt it uses px; sent back with "rem" in the notes, it fixes that.
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";

const prompt = readFileSync(process.env.COS_PROMPT_FILE, "utf8");
const title = /^# Task #\d+: (.+)$/m.exec(prompt)?.[1] ?? "task";
const feedback = prompt.includes("# Feedback from the last attempt");
const handoffs = [...prompt.matchAll(/^- "(.+?)" \[(.+?)\]: (.+)$/gm)].map((m) => `${m[1]} (${m[2]})`);

const write = (path, text) => {
  mkdirSync(dirname(join(process.cwd(), path)), { recursive: true });
  writeFileSync(join(process.cwd(), path), text);
};

let summary;
let handoff;
let worked;
let pattern = null;
if (/scaffold/i.test(title)) {
  write("package.json", JSON.stringify({ name: "site", private: true, scripts: { build: "node build.js" } }, null, 2) + "\n");
  write("build.js", "// Renders pages/ into public/.\nconsole.log('built');\n");
  write("pages/index.html", "<!doctype html>\n<title>Site</title>\n<main id=app></main>\n");
  summary = "Scaffolded the site: package.json, a build script and the index page.";
  handoff = "Pages live in pages/, `npm run build` renders them; styles go in styles/.";
  worked = "Starting from one static page keeps the build trivial.";
} else if (/design system/i.test(title)) {
  const rem = feedback && /rem/i.test(prompt);
  const unit = rem ? "rem" : "px";
  const space = rem ? ["0.25rem", "0.5rem", "1rem"] : ["4px", "8px", "16px"];
  let css = `:root {\n  --space-1: ${space[0]};\n  --space-2: ${space[1]};\n  --space-3: ${space[2]};\n  --ink: #1d1d1f;\n  --paper: #ffffff;\n}\n`;
  if (rem) css += `@media (prefers-color-scheme: dark) {\n  :root { --ink: #f5f5f7; --paper: #111114; }\n}\n`;
  write("styles/tokens.css", css);
  summary = `Design tokens in styles/tokens.css, spacing in ${unit}${rem ? ", with a dark theme" : ""}.`;
  handoff = `Use var(--space-1..3), var(--ink) and var(--paper) from styles/tokens.css (${unit} units).`;
  worked = rem ? "Spacing in rem scales with the reader's font size." : "A three-step spacing scale.";
  pattern = "Tokens as CSS custom properties in one file, imported first.";
} else if (/blog engine/i.test(title)) {
  write("blog/engine.js", "// Turns posts/*.md into pages/blog/*.html.\nexport function render(md) {\n  return md.replace(/^# (.*)$/m, '<h1>$1</h1>');\n}\n");
  summary = "A minimal blog engine: Markdown posts in posts/ become pages under pages/blog/.";
  handoff = "Write posts as posts/<slug>.md with a '# Title' first line; the engine renders them on build.";
  worked = "Rendering at build time keeps the site static.";
  pattern = "posts/<slug>.md → pages/blog/<slug>.html, one function per step.";
} else {
  write("posts/hello-world.md", `# Hello, world\n\nThe first post. Built on: ${handoffs.join("; ") || "nothing"}.\n`);
  summary = "Wrote the first post, posts/hello-world.md.";
  handoff = "The post is live at /blog/hello-world once built.";
  worked = "Reading the handoffs first: the post follows the engine's format and the tokens.";
}

const result = [
  "## Summary",
  summary,
  "",
  "## Handoff",
  handoff,
  "",
  "## What Worked",
  worked,
  ...(pattern ? ["", "## Reusable Pattern", pattern] : []),
  "",
].join("\n");
writeFileSync(process.env.COS_RESULT_FILE, result);
console.log(`demo agent: ${title} done`);

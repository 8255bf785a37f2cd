#!/usr/bin/env node
// The `cos` bin. It runs the TypeScript sources without a build step to remember: the sources are
// bundled on first use (and again whenever one changes) into dist/<fingerprint>/, which later runs
// import directly, so a warm start costs one stat per source file.
import { ensureBuild } from "./build.js";

const entry = await ensureBuild("handlers/cli/main.ts");
const { main } = await import(entry);
process.exitCode = await main(process.argv.slice(2));

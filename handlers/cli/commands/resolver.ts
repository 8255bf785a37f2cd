import { oneOf, onePositional, str } from "../args.ts";
import { ACTOR, idCommand, storeCommand } from "../command.ts";
import { renderPass } from "../render.ts";

// The wave resolver (DESIGN §4, §6): a pass by hand, why a task waits, the prompt it would get, and the
// settings every pass reads (mode, pause).

export const tick = storeCommand({
  usage: "cos tick [--wait]   (one resolver pass; --wait also runs what it dispatched, here, until the results are in)",
  options: { wait: { type: "boolean" } },
  run: async (ctx, { values }, io) => {
    const { runPasses } = await import("../../../resolver/pass.ts");
    // The sandbox is decided before the pass: one that is required and missing dispatches nothing.
    const local = values.wait ? await import("../local-runner.ts") : null;
    const sandbox = local ? await local.runnerSandbox(ctx.config, ctx.env, io, ctx.configPath) : null;
    const report = await runPasses(ctx);
    if (!local || !sandbox || report.dispatched.length === 0) return report;
    // Each run's start and end as it happens; with --json, stdout keeps to the one JSON document.
    const say = values.json ? (line: string) => io.err(line) : (line: string) => io.out(line);
    const results = await local.runDispatched(ctx, io, report.dispatched.map((d) => d.taskId), sandbox, say);
    return { ...report, results };
  },
  text: renderPass,
});

export const why = idCommand("cos why ID", {
  run: async (ctx, id) => {
    const { explain } = await import("../../../src/plan/explain.ts");
    return explain(ctx, id);
  },
  text: (v) => v.text,
});

export const prompt = idCommand("cos prompt ID", {
  gloss: "the prompt the task would get now",
  run: async (ctx, id) => {
    const { loadTask } = await import("../../../src/app/tasks.ts");
    const { buildDispatchPrompt } = await import("../../../src/prompt/build.ts");
    const { loadPromptInput } = await import("../../../src/prompt/load.ts");
    const { state } = await loadTask(ctx, id);
    return buildDispatchPrompt(await loadPromptInput(ctx.db, ctx.config, state, ctx.clock()), ctx.config.prompt.budgetTokens);
  },
  text: (v) => v.text,
});

export const mode = storeCommand({
  positional: true,
  usage: "cos mode sprint|idle",
  options: {},
  run: async (ctx, { positionals }) => {
    const mode = oneOf(onePositional(positionals, "cos mode sprint|idle") ?? "", ["sprint", "idle"] as const, "the mode");
    const { changeMode } = await import("../../../src/app/settings.ts");
    const { state, changed } = await changeMode(ctx, mode, ACTOR);
    return { mode: state.mode, changed };
  },
  text: (v) => `mode: ${v.mode}${v.changed ? "" : " (already)"}`,
});

export const pause = storeCommand({
  usage: "cos pause [--reason TEXT]",
  options: { reason: { type: "string" } },
  run: async (ctx, { values }) => {
    const { pauseResolver } = await import("../../../src/app/settings.ts");
    await pauseResolver(ctx, str(values, "reason") ?? null, ACTOR);
    return { paused: true };
  },
  text: () => "paused: nothing new is dispatched until cos resume",
});

export const resume = storeCommand({
  usage: "cos resume",
  options: {},
  run: async (ctx) => {
    const { resumeResolver } = await import("../../../src/app/settings.ts");
    await resumeResolver(ctx, ACTOR);
    return { paused: false };
  },
  text: () => "resumed",
});

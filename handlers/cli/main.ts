import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { AppContext } from "../../src/app/context.ts";
import { createGoal, createInitiative } from "../../src/app/goals.ts";
import { openApp } from "../../src/app/open.ts";
import { cancelTask, editTask, queueTask, recordResult } from "../../src/app/tasks.ts";
import { listGoals, listInitiatives, listTasks, showTask } from "../../src/app/views.ts";
import { parseEnv } from "../../src/config/env.ts";
import { ISOLATIONS, TIERS, type TaskEdit, type Verdict } from "../../src/domain/task/task.ts";
import { CosError, ValidationError, toCosError } from "../../src/shared/errors.ts";
import { rebuildProjections } from "../../src/store/rebuild.ts";
import { oneOf, parse, parseId, parseIdList, parseInteger, str, type Options } from "./args.ts";
import { processIo, type CliIo } from "./io.ts";
import { renderEvents, renderPass, renderTask, renderTaskList, renderTrust } from "./render.ts";

const ACTOR = "cli";

interface Command {
  usage: string;
  options: Options;
  /** Takes positional arguments (and checks their number itself); any other command refuses them. */
  positional?: true;
  /** Runs without opening the store (a remote runner talks to the server instead). */
  standalone?: (args: { values: Record<string, string | boolean | undefined>; positionals: string[] }, io: CliIo) => Promise<number>;
  run(ctx: AppContext, args: { values: Record<string, string | boolean | undefined>; positionals: string[] }, io: CliIo): Promise<unknown>;
  /** Printed when --json is not given. */
  text?(value: any): string | Promise<string>;
  /** Commands that manage their own store (serve). */
  raw?: boolean;
}

const COMMANDS: Record<string, Command> = {
  "goal add": {
    positional: true,
    usage: 'cos goal add "<title>" [--success "<line>"] [--project P]',
    options: { success: { type: "string" }, project: { type: "string" } },
    run: async (ctx, { values, positionals }) => ({
      id: await createGoal(ctx, { title: title(positionals, "goal"), success: str(values, "success"), project: str(values, "project") }, ACTOR),
    }),
    text: (v) => String(v.id),
  },
  "goal list": {
    usage: "cos goal list",
    options: {},
    run: (ctx) => listGoals(ctx),
    text: (goals: Awaited<ReturnType<typeof listGoals>>) =>
      goals.length ? goals.map((g) => `${g.id}  ${g.title}${g.success ? ` — ${g.success}` : ""}`).join("\n") : "no goals",
  },
  "initiative add": {
    positional: true,
    usage: 'cos initiative add "<title>" --goal ID [--success "<line>"]',
    options: { goal: { type: "string" }, success: { type: "string" } },
    run: async (ctx, { values, positionals }) => {
      const goal = str(values, "goal");
      if (goal === undefined) throw new ValidationError("an initiative needs --goal ID (see cos goal list)");
      return {
        id: await createInitiative(ctx, { title: title(positionals, "initiative"), goalId: parseId(goal, "goal"), success: str(values, "success") }, ACTOR),
      };
    },
    text: (v) => String(v.id),
  },
  "initiative list": {
    usage: "cos initiative list",
    options: {},
    run: (ctx) => listInitiatives(ctx),
    text: (items: Awaited<ReturnType<typeof listInitiatives>>) =>
      items.length
        ? items.map((i) => `${i.id}  goal ${i.goalId}  ${i.title}${i.success ? ` — ${i.success}` : ""}`).join("\n")
        : "no initiatives",
  },
  "task add": {
    positional: true,
    usage:
      'cos task add "<title>" --type T --agent A [--project P] [--goal ID] [--initiative ID] [--after ID,ID] [--area AREA] [--isolation worktree|direct] [--tier auto|quick|gate] [--priority N] [--description TEXT] [--skill NAME,NAME]',
    options: {
      skill: { type: "string" },
      type: { type: "string" },
      agent: { type: "string" },
      project: { type: "string" },
      goal: { type: "string" },
      initiative: { type: "string" },
      after: { type: "string" },
      area: { type: "string" },
      isolation: { type: "string" },
      tier: { type: "string" },
      priority: { type: "string" },
      description: { type: "string" },
    },
    run: async (ctx, { values, positionals }) => {
      const type = str(values, "type");
      const agent = str(values, "agent");
      if (!type) throw new ValidationError("a task needs --type (code, research, content, or a configured type)");
      if (!agent) throw new ValidationError("a task needs --agent (one of the agents in cos.config.json)");
      const goal = str(values, "goal");
      const initiative = str(values, "initiative");
      const after = str(values, "after");
      const isolation = str(values, "isolation");
      const tier = str(values, "tier");
      const priority = str(values, "priority");
      const id = await queueTask(
        ctx,
        {
          title: title(positionals, "task"),
          description: str(values, "description") ?? "",
          type,
          agent,
          project: str(values, "project") ?? null,
          goalId: goal === undefined ? null : parseId(goal, "goal"),
          initiativeId: initiative === undefined ? null : parseId(initiative, "initiative"),
          blockedBy: after === undefined ? [] : parseIdList(after),
          area: str(values, "area") ?? null,
          isolation: isolation === undefined ? null : oneOf(isolation, ISOLATIONS, "--isolation"),
          tier: tier === undefined ? null : oneOf(tier, TIERS, "--tier"),
          priority: priority === undefined ? 0 : parseInteger(priority, "--priority"),
          skills: (str(values, "skill") ?? "").split(",").map((s) => s.trim()).filter(Boolean),
        },
        ACTOR,
      );
      return { id };
    },
    text: (v) => String(v.id),
  },
  "task list": {
    usage: "cos task list [--status S]   (S: open, all, or a status such as queued; a comma list works)",
    options: { status: { type: "string" } },
    run: (ctx, { values }) => listTasks(ctx, str(values, "status") ?? "all"),
    text: renderTaskList,
  },
  "task show": {
    positional: true,
    usage: "cos task show ID",
    options: {},
    run: (ctx, { positionals }) => showTask(ctx, parseId(onePositional(positionals, "cos task show ID"))),
    text: renderTask,
  },
  "task cancel": {
    positional: true,
    usage: "cos task cancel ID [--reason TEXT]",
    options: { reason: { type: "string" } },
    run: async (ctx, { values, positionals }) => {
      const id = parseId(onePositional(positionals, "cos task cancel ID"));
      const { state } = await cancelTask(ctx, id, str(values, "reason") ?? null, ACTOR);
      return { id, status: state.status };
    },
    text: (v) => `#${v.id} cancelled`,
  },
  "task edit": {
    positional: true,
    usage: "cos task edit ID [--after ID,ID] [--priority N] [--area AREA] [--agent A] [--tier auto|quick|gate|none]",
    options: { after: { type: "string" }, priority: { type: "string" }, area: { type: "string" }, agent: { type: "string" }, tier: { type: "string" } },
    run: async (ctx, { values, positionals }) => {
      const id = parseId(onePositional(positionals, "cos task edit ID [...]"));
      const changes: TaskEdit = {};
      const after = str(values, "after");
      if (after !== undefined) changes.blockedBy = after.trim() === "" || after === "none" ? [] : parseIdList(after);
      const priority = str(values, "priority");
      if (priority !== undefined) changes.priority = parseInteger(priority, "--priority");
      const area = str(values, "area");
      if (area !== undefined) changes.area = area === "" || area === "none" ? null : area;
      const agent = str(values, "agent");
      if (agent !== undefined) changes.agent = agent;
      const tier = str(values, "tier");
      if (tier !== undefined) changes.tier = tier === "none" ? null : oneOf(tier, TIERS, "--tier");
      if (Object.keys(changes).length === 0) {
        throw new ValidationError("nothing to change: give --after, --priority, --area, --agent or --tier");
      }
      const { state, events } = await editTask(ctx, id, changes, ACTOR);
      return { id, changed: events.length > 0, blockedBy: state.blockedBy, priority: state.priority, area: state.area, agent: state.agent, tierPin: state.tierPin };
    },
    text: (v) => (v.changed ? `#${v.id} updated` : `#${v.id} unchanged`),
  },
  result: {
    positional: true,
    usage: "cos result ID [--file F] [--exit-code N]   (the result is read from stdin without --file)",
    options: { file: { type: "string" }, "exit-code": { type: "string" } },
    run: async (ctx, { values, positionals }, io) => {
      const id = parseId(onePositional(positionals, "cos result ID [--file F] [--exit-code N]"));
      const exitCodeText = str(values, "exit-code");
      const exitCode = exitCodeText === undefined ? 0 : parseInteger(exitCodeText, "--exit-code");
      const file = str(values, "file");
      let markdown: string | null;
      if (file !== undefined) {
        try {
          markdown = readFileSync(resolve(io.cwd, file), "utf8");
        } catch (error) {
          throw new ValidationError(`cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
        }
      } else {
        markdown = await io.readStdin();
        if (markdown === null) throw new ValidationError("give the result with --file F or pipe it on stdin");
      }
      const { state } = await recordResult(ctx, id, { markdown, exitCode }, ACTOR);
      return { id, status: state.status, attempt: state.attempt };
    },
    text: (v) => `#${v.id} ${v.status === "review" ? "is in review" : `is ${v.status} (attempt ${v.attempt})`}`,
  },
  verdict: {
    positional: true,
    usage: "cos verdict ID approve|send-back|discard [--note TEXT]",
    options: { note: { type: "string" } },
    run: async (ctx, { values, positionals }) => {
      if (positionals.length !== 2) throw new ValidationError("usage: cos verdict ID approve|send-back|discard [--note TEXT]");
      const id = parseId(positionals[0]);
      const verdicts: Record<string, Verdict> = { approve: "approved", "send-back": "sent_back", discard: "discarded" };
      const verdict = verdicts[positionals[1]!];
      if (!verdict) throw new ValidationError(`the verdict must be approve, send-back or discard, got "${positionals[1]}"`);
      const { decideReview } = await import("../../src/app/review.ts");
      const { state } = await decideReview(ctx, id, verdict, str(values, "note") ?? null, ACTOR);
      return { id, verdict, status: state.status, attempt: state.attempt };
    },
    text: (v) => `#${v.id} ${v.status}${v.status === "queued" ? ` again for attempt ${v.attempt}` : ""}`,
  },
  events: {
    usage: "cos events [--stream S] [--after POSITION] [--limit N]",
    options: { stream: { type: "string" }, after: { type: "string" }, limit: { type: "string" } },
    run: (ctx, { values }) => {
      const after = str(values, "after");
      const limit = str(values, "limit");
      return ctx.store.readAll({
        stream: str(values, "stream"),
        after: after === undefined ? 0 : parseInteger(after, "--after"),
        limit: limit === undefined ? 1000 : parseInteger(limit, "--limit"),
      });
    },
    text: renderEvents,
  },
  rebuild: {
    usage: "cos rebuild",
    options: {},
    run: (ctx) => rebuildProjections(ctx.db),
    text: (r) => `rebuilt the projections from ${r.events} events in ${r.streams} streams in ${r.ms} ms${r.workers ? ` (the log read and folded by ${r.workers} worker threads)` : ""}`,
  },
  tick: {
    usage: "cos tick [--wait]   (one resolver pass; --wait also runs what it dispatched, here, until the results are in)",
    options: { wait: { type: "boolean" } },
    run: async (ctx, { values }, io) => {
      const { runPass } = await import("../../resolver/pass.ts");
      const report = await runPass(ctx);
      if (!values.wait || report.dispatched.length === 0) return report;
      const { runDispatched } = await import("./local-runner.ts");
      const results = await runDispatched(ctx, io, report.dispatched.map((d) => d.taskId));
      return { ...report, results };
    },
    text: renderPass,
  },
  digest: {
    usage: "cos digest [--since ISO-TIME]   (default: the last 24 hours)",
    options: { since: { type: "string" } },
    run: async (ctx, { values }) => {
      const { buildDigest, digestSince } = await import("../../src/app/digest.ts");
      const since = str(values, "since");
      if (since !== undefined && Number.isNaN(Date.parse(since))) throw new ValidationError(`--since must be an ISO time, got "${since}"`);
      return buildDigest(ctx, since ?? digestSince(ctx.clock()));
    },
    text: async (d) => (await import("../../src/app/digest.ts")).digestText(d),
  },
  demo: {
    usage: "cos demo [--keep]   (a scripted night on a scratch repo, start to finish; --keep leaves its folder)",
    options: { keep: { type: "boolean" } },
    run: async () => null,
    standalone: async ({ values }, io) => (await import("./demo.ts")).runDemo(io, values.keep === true),
  },
  runner: {
    usage: "cos runner --server URL --token T [--slots N] [--labels a,b] [--id NAME]",
    options: { server: { type: "string" }, token: { type: "string" }, slots: { type: "string" }, labels: { type: "string" }, id: { type: "string" } },
    run: async () => null,
    standalone: async ({ values }, io) => {
      const { runRemote } = await import("./remote-runner.ts");
      return runRemote(values, io);
    },
  },
  gc: {
    usage: "cos gc [--dry-run]   (report and free worktrees and branches no open task needs)",
    options: { "dry-run": { type: "boolean" } },
    run: async (ctx, { values }) => {
      const { garbageCollect } = await import("./local-runner.ts");
      return garbageCollect(ctx, values["dry-run"] === true);
    },
    text: (r: { removed: { path: string; reason: string }[]; kept: { path: string; reason: string }[]; dryRun: boolean }) =>
      [
        ...r.removed.map((x) => `${r.dryRun ? "would remove" : "removed"} ${x.path} (${x.reason})`),
        ...r.kept.map((x) => `kept ${x.path} (${x.reason})`),
        r.removed.length || r.kept.length ? "" : "nothing to free",
      ]
        .filter(Boolean)
        .join("\n"),
  },
  why: {
    positional: true,
    usage: "cos why ID",
    options: {},
    run: async (ctx, { positionals }) => {
      const { explain } = await import("../../src/plan/explain.ts");
      return explain(ctx, parseId(onePositional(positionals, "cos why ID")));
    },
    text: (v) => v.text,
  },
  prompt: {
    positional: true,
    usage: "cos prompt ID   (the prompt the task would get now)",
    options: {},
    run: async (ctx, { positionals }) => {
      const { loadTask } = await import("../../src/app/tasks.ts");
      const { buildDispatchPrompt } = await import("../../src/prompt/build.ts");
      const { loadPromptInput } = await import("../../src/prompt/load.ts");
      const { state } = await loadTask(ctx, parseId(onePositional(positionals, "cos prompt ID")));
      return buildDispatchPrompt(await loadPromptInput(ctx.db, ctx.config, state, ctx.clock()), ctx.config.prompt.budgetTokens);
    },
    text: (v) => v.text,
  },
  trust: {
    usage: "cos trust",
    options: {},
    run: async (ctx) => (await import("../../src/app/trust.ts")).trustTable(ctx),
    text: renderTrust,
  },
  "tier set": {
    positional: true,
    usage: "cos tier set AGENT TYPE auto|quick|gate",
    options: {},
    run: async (ctx, { positionals }) => {
      if (positionals.length !== 3) throw new ValidationError("usage: cos tier set AGENT TYPE auto|quick|gate");
      const [agent, type, tier] = positionals as [string, string, string];
      const { pinTier } = await import("../../src/app/trust.ts");
      const { changed } = await pinTier(ctx, agent, type, oneOf(tier, TIERS, "the tier"), ACTOR);
      return { agent, type, pin: tier, changed };
    },
    text: (v) => `${v.agent} ${v.type}: pinned at ${v.pin}${v.changed ? "" : " (already)"}`,
  },
  "tier clear": {
    positional: true,
    usage: "cos tier clear AGENT TYPE",
    options: {},
    run: async (ctx, { positionals }) => {
      if (positionals.length !== 2) throw new ValidationError("usage: cos tier clear AGENT TYPE");
      const [agent, type] = positionals as [string, string];
      const { clearPin } = await import("../../src/app/trust.ts");
      const { changed } = await clearPin(ctx, agent, type, ACTOR);
      return { agent, type, changed };
    },
    text: (v) => `${v.agent} ${v.type}: ${v.changed ? "pin cleared; trust decides again" : "had no pin"}`,
  },
  mode: {
    positional: true,
    usage: "cos mode sprint|idle",
    options: {},
    run: async (ctx, { positionals }) => {
      const mode = oneOf(onePositional(positionals, "cos mode sprint|idle") ?? "", ["sprint", "idle"] as const, "the mode");
      const { changeMode } = await import("../../src/app/settings.ts");
      const { state, changed } = await changeMode(ctx, mode, ACTOR);
      return { mode: state.mode, changed };
    },
    text: (v) => `mode: ${v.mode}${v.changed ? "" : " (already)"}`,
  },
  pause: {
    usage: "cos pause [--reason TEXT]",
    options: { reason: { type: "string" } },
    run: async (ctx, { values }) => {
      const { pauseResolver } = await import("../../src/app/settings.ts");
      await pauseResolver(ctx, str(values, "reason") ?? null, ACTOR);
      return { paused: true };
    },
    text: () => "paused: nothing new is dispatched until cos resume",
  },
  resume: {
    usage: "cos resume",
    options: {},
    run: async (ctx) => {
      const { resumeResolver } = await import("../../src/app/settings.ts");
      await resumeResolver(ctx, ACTOR);
      return { paused: false };
    },
    text: () => "resumed",
  },
  skills: {
    usage: "cos skills   (the skills in the skills folder, who uses them, and the ones agents name that are missing)",
    options: {},
    run: async () => null,
    // Reads the configuration and the skills folder only: no store is opened (or created).
    standalone: async ({ values }, io) => {
      const [{ loadConfig }, { listSkills, renderSkills }] = await Promise.all([
        import("../../src/config/config.ts"),
        import("../../src/app/skills.ts"),
      ]);
      const listing = listSkills(loadConfig(parseEnv(io.env).COS_CONFIG, io.cwd).config);
      io.out(values.json ? JSON.stringify(listing, null, 2) : renderSkills(listing));
      return 0;
    },
  },
  mcp: {
    usage: "cos mcp   (the MCP server over stdio for an agent's run: COS_MCP_TOKEN, and COS_MCP_URL to relay to cos serve)",
    options: {},
    run: async () => null,
    standalone: async (_args, io) => (await import("./mcp.ts")).serveMcpStdio(io),
  },
  serve: {
    usage: "cos serve",
    options: {},
    raw: true,
    run: async (ctx, _args, io) => {
      const { serve } = await import("./serve.ts");
      await serve(ctx, io);
      return null;
    },
  },
};

const HELP = `cos — ChiefOfStaff

${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}`)
  .join("\n")}

Every command takes --json for machine output.`;

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const json = argv.includes("--json");
  if (argv.length === 0 || argv[0] === "help" || argv[0] === "--help" || argv[0] === "-h") {
    io.out(HELP);
    return argv.length === 0 ? 2 : 0;
  }
  let ctx: AppContext | null = null;
  try {
    const [name, command] = findCommand(argv);
    const args = parse(command.usage, argv.slice(name.split(" ").length), command.options);
    if (!command.positional && args.positionals.length) {
      throw new ValidationError(`cos ${name} takes no arguments besides its options (got "${args.positionals.join(" ")}"): usage: ${command.usage}`);
    }
    if (command.standalone) return await command.standalone(args, io);
    ctx = await openApp({ env: parseEnv(io.env), cwd: io.cwd });
    const value = await command.run(ctx, args, io);
    if (command.raw) return 0;
    io.out(json || !command.text ? JSON.stringify(value, null, 2) : await command.text(value));
    return 0;
  } catch (error) {
    const cos = toCosError(error);
    if (json) io.err(JSON.stringify({ error: { code: cos.code, message: cos.message } }));
    else io.err(`error: ${cos.message}`);
    return exitCodeOf(cos);
  } finally {
    await ctx?.db.close();
  }
}

function findCommand(argv: string[]): [string, Command] {
  const two = `${argv[0]} ${argv[1] ?? ""}`;
  if (COMMANDS[two]) return [two, COMMANDS[two]!];
  if (COMMANDS[argv[0]!]) return [argv[0]!, COMMANDS[argv[0]!]!];
  const group = Object.keys(COMMANDS).filter((k) => k.startsWith(`${argv[0]} `));
  if (group.length) {
    throw new ValidationError(`unknown command "${two.trim()}": try ${group.map((k) => `"cos ${k}"`).join(", ")}`);
  }
  throw new ValidationError(`unknown command "${argv[0]}": run "cos help" for the list`);
}

export function exitCodeOf(error: CosError): number {
  return error.code === "internal" ? 1 : error.code === "conflict" ? 3 : 2;
}

function title(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new ValidationError(`give the ${what}'s title in quotes, e.g. cos ${what} add "Ship the blog"`);
  if (positionals.length > 1) {
    throw new ValidationError(`the ${what}'s title must be one argument: put it in quotes ("${positionals.join(" ")}")`);
  }
  return positionals[0]!;
}

function onePositional(positionals: string[], usage: string): string | undefined {
  if (positionals.length > 1) throw new ValidationError(`too many arguments: usage: ${usage}`);
  return positionals[0];
}

import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { AppContext } from "../../src/app/context.ts";
import { CosError, ValidationError, toCosError } from "../../src/shared/errors.ts";
import { nearest } from "../../src/shared/nearest.ts";
import { packageRoot } from "../../src/shared/paths.ts";
import { parse } from "./args.ts";
import { openStore, type Command } from "./command.ts";
import { doctor } from "./commands/doctor.ts";
import { goalAdd, goalList, initiativeAdd, initiativeList } from "./commands/goals.ts";
import { prompt, mode, pause, resume, tick, why } from "./commands/resolver.ts";
import { demo, digest, skills, status } from "./commands/reports.ts";
import { gc, mcp, runner, runnerToken, serve } from "./commands/runs.ts";
import { events, rebuild } from "./commands/store.ts";
import { taskAdd, taskCancel, taskEdit, taskList, taskResult, taskRetry, taskShow, taskVerdict } from "./commands/tasks.ts";
import { tierClear, tierSet, trust } from "./commands/trust.ts";
import { processIo, type CliIo } from "./io.ts";
import { printable } from "./render.ts";

// `cos`: finds the command named by the first one or two words, parses its options strictly, runs it, and
// turns an error into a message on stderr and an exit code. The commands live in ./commands, one module a
// feature; their modules load the heavy parts of a command with import() when it runs, so start-up stays quick.

/** Every command by the words that name it, in the order `cos help` lists them. */
const COMMANDS: Record<string, Command> = {
  "goal add": goalAdd,
  "goal list": goalList,
  "initiative add": initiativeAdd,
  "initiative list": initiativeList,
  "task add": taskAdd,
  "task list": taskList,
  "task show": taskShow,
  "task cancel": taskCancel,
  "task retry": taskRetry,
  "task edit": taskEdit,
  result: taskResult,
  verdict: taskVerdict,
  events,
  rebuild,
  tick,
  status,
  digest,
  demo,
  runner,
  "runner token": runnerToken,
  gc,
  why,
  prompt,
  trust,
  "tier set": tierSet,
  "tier clear": tierClear,
  mode,
  pause,
  resume,
  skills,
  mcp,
  serve,
  doctor,
};

const HELP = `cos — ChiefOfStaff

${Object.values(COMMANDS)
  .map((c) => `  ${c.usage}`)
  .join("\n")}
  cos --version
  cos help [COMMAND]   (or cos COMMAND --help)

Every command takes --json for machine output.`;

/** The help of one command, or of a group such as `task`: its usage lines. */
function helpFor(words: string[]): string | null {
  const name = words.join(" ");
  const found = COMMANDS[name] ? [name] : Object.keys(COMMANDS).filter((k) => k.startsWith(`${name} `));
  if (!found.length) return null;
  return [`cos ${name}:`, ...found.map((k) => `  ${COMMANDS[k]!.usage}`), "", "Every command takes --json for machine output."].join("\n");
}

function version(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), "package.json"), "utf8")) as { version: string }).version;
}

export async function main(argv: string[], io: CliIo = processIo()): Promise<number> {
  const json = argv.includes("--json");
  if (argv[0] === "--version" || argv[0] === "-V" || argv[0] === "version") {
    io.out(json ? JSON.stringify({ version: version() }) : `cos ${version()}`);
    return 0;
  }
  if (argv.length === 0 || argv[0] === "--help" || argv[0] === "-h" || (argv[0] === "help" && argv.length === 1)) {
    io.out(HELP);
    return 0;
  }
  // `cos help task`, `cos task --help`, `cos task add -h`: the usage of what is named, exit 0.
  const asksHelp = argv[0] === "help" ? argv.slice(1) : argv.includes("--help") || argv.includes("-h") ? argv.filter((a) => !a.startsWith("-")) : null;
  if (asksHelp) {
    const words = asksHelp.slice(0, 2);
    const text = helpFor(words) ?? helpFor(words.slice(0, 1));
    if (text) {
      io.out(text);
      return 0;
    }
  }
  let ctx: AppContext | null = null;
  try {
    const [name, command] = findCommand(asksHelp ?? argv);
    const args = parse(command.usage, argv.slice(name.split(" ").length), command.options);
    if (!command.positional && args.positionals.length) {
      throw new ValidationError(`cos ${name} takes no arguments besides its options (got "${args.positionals.join(" ")}"): usage: ${command.usage}`);
    }
    if ("standalone" in command) return await command.standalone(args, io);
    ctx = await openStore(io);
    const value = await command.run(ctx, args, io);
    io.out(printable(json || !command.text ? JSON.stringify(value, null, 2) : await command.text(value)));
    return 0;
  } catch (error) {
    const cos = toCosError(error);
    if (json) io.err(printable(JSON.stringify({ error: { code: cos.code, message: cos.message } })));
    else io.err(printable(`error: ${cos.message}`));
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
    const sub = argv[1] && !argv[1].startsWith("-") ? nearest(argv[1], group.map((k) => k.split(" ")[1]!)) : null;
    const guess = sub ? `did you mean "cos ${argv[0]} ${sub}"? ` : "";
    throw new ValidationError(`unknown command "${two.trim()}": ${guess}try ${group.map((k) => `"cos ${k}"`).join(", ")}`);
  }
  const firstWords = [...new Set(Object.keys(COMMANDS).map((k) => k.split(" ")[0]!))];
  const guess = nearest(argv[0]!, firstWords);
  throw new ValidationError(`unknown command "${argv[0]}": ${guess ? `did you mean "cos ${guess}"? ` : ""}run "cos help" for the list`);
}

export function exitCodeOf(error: CosError): number {
  return error.code === "internal" ? 1 : error.code === "conflict" ? 3 : 2;
}

import type { AppContext } from "../../src/app/context.ts";
import { openApp } from "../../src/app/open.ts";
import { gitWorkspace } from "../../runner/workspace/port.ts";
import { parseEnv } from "../../src/config/env.ts";
import { idArgument, type Options, type Parsed } from "./args.ts";
import type { CliIo } from "./io.ts";

/** The actor the CLI's events are recorded under (DESIGN §2). */
export const ACTOR = "cli";

interface CommandLine {
  usage: string;
  options: Options;
  /** Takes positional arguments (and checks their number itself); any other command refuses them. */
  positional?: true;
}

/** A command on the store: `main` opens it, prints what `run` returns (as text, or as JSON with --json) and closes it. */
export interface StoreCommand<T = unknown> extends CommandLine {
  run(ctx: AppContext, args: Parsed, io: CliIo): Promise<T>;
  /** Printed when --json is not given; without it the value is printed as JSON. */
  text?(value: T): string | Promise<string>;
}

/** A command that opens what it needs itself (or no store at all), prints its own output and returns the exit code. */
export interface StandaloneCommand extends CommandLine {
  standalone(args: Parsed, io: CliIo): Promise<number>;
}

// `any`: the registry holds commands of every value type; `storeCommand` checks each one's `text` against its `run`.
export type Command = StoreCommand<any> | StandaloneCommand;

/** Declares a store command, so that `text` is checked against what `run` returns. */
export function storeCommand<T>(command: StoreCommand<T>): StoreCommand<T> {
  return command;
}

/** A command with no arguments that shows a list (`cos goal list`). */
export function listCommand<T>(usage: string, list: (ctx: AppContext) => Promise<T>, text: (value: T) => string): StoreCommand<T> {
  return { usage, options: {}, run: (ctx) => list(ctx), text };
}

/**
 * A command whose one argument is an id: `usage` names it (and is what a wrong argument is told),
 * `gloss` says what the command does in the usage line.
 */
export function idCommand<T>(
  usage: string,
  command: { gloss?: string; run(ctx: AppContext, id: number): Promise<T>; text(value: T): string },
): StoreCommand<T> {
  return {
    positional: true,
    usage: command.gloss ? `${usage}   (${command.gloss})` : usage,
    options: {},
    run: (ctx, { positionals }) => command.run(ctx, idArgument(positionals, usage)),
    text: command.text,
  };
}

/** The store of the environment the CLI runs in. */
export function openStore(io: CliIo): Promise<AppContext> {
  return openApp({ env: parseEnv(io.env), cwd: io.cwd, workspace: gitWorkspace });
}

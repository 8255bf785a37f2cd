import { parseArgs, type ParseArgsConfig } from "node:util";
import { ValidationError } from "../../src/shared/errors.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/** Options that each take a value, by name. */
export function valueOptions(...names: string[]): Options {
  return Object.fromEntries(names.map((name) => [name, { type: "string" as const }]));
}

/** Strict parsing: an unknown flag or a missing value is a ValidationError naming it. */
export function parse(usage: string, args: string[], options: Options): Parsed {
  try {
    const { values, positionals } = parseArgs({
      args,
      options: { ...options, json: { type: "boolean" } },
      allowPositionals: true,
      strict: true,
    });
    return { values: values as Parsed["values"], positionals };
  } catch (error) {
    const message = (error as Error).message.replace(/\. To specify a positional argument.*$/s, "");
    throw new ValidationError(`${message} (usage: ${usage})`);
  }
}

export function parseId(value: string | undefined, what = "task"): number {
  const text = (value ?? "").trim().replace(/^#/, "");
  if (!/^\d+$/.test(text) || Number(text) < 1 || !Number.isSafeInteger(Number(text))) {
    throw new ValidationError(
      value === undefined ? `give the ${what} id, e.g. 42` : `"${value}" is not a ${what} id: use a number such as 42`,
    );
  }
  return Number(text);
}

export function parseIdList(value: string): number[] {
  const parts = value.split(",").map((s) => s.trim()).filter(Boolean);
  return parts.map((p) => parseId(p));
}

export function parseInteger(value: string, flag: string): number {
  if (!/^-?\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new ValidationError(`${flag} takes a whole number, got "${value}"`);
  }
  return Number(value);
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], flag: string): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ValidationError(`${flag} must be one of ${allowed.join(", ")}, got "${value}"`);
  }
  return value as T;
}

export function str(values: Parsed["values"], key: string): string | undefined {
  const v = values[key];
  return typeof v === "string" ? v : undefined;
}

/** The one title of an `add` command: several words without quotes are refused, not joined. */
export function title(positionals: string[], what: string): string {
  if (positionals.length === 0) throw new ValidationError(`give the ${what}'s title in quotes, e.g. cos ${what} add "Ship the blog"`);
  if (positionals.length > 1) {
    throw new ValidationError(`the ${what}'s title must be one argument: put it in quotes ("${positionals.join(" ")}")`);
  }
  return positionals[0]!;
}

/** The single positional argument (an id, a mode), or undefined when none was given: the caller says what is missing. */
export function onePositional(positionals: string[], usage: string): string | undefined {
  if (positionals.length > 1) throw new ValidationError(`too many arguments: usage: ${usage}`);
  return positionals[0];
}

/** The id that is a command's one argument. */
export function idArgument(positionals: string[], usage: string): number {
  return parseId(onePositional(positionals, usage));
}

/** Exactly `count` positional arguments, or the command's usage as the error. */
export function exactArguments(positionals: string[], count: number, usage: string): string[] {
  if (positionals.length !== count) throw new ValidationError(`usage: ${usage}`);
  return positionals;
}

// One error family. Every adapter maps `code` to its own surface (exit code, HTTP status, chat reply);
// anything else caught at a boundary is normalised with `toCosError`.
export type ErrorCode =
  | "validation"
  | "not_found"
  | "conflict"
  | "illegal_state"
  | "unauthorized"
  | "forbidden"
  | "too_large"
  /** The store cannot be reached (or stayed busy): nothing is wrong with the request; try again later. */
  | "unavailable"
  /** The setup is wrong (a token the store refuses, a server too old): the person running it can fix it. */
  | "misconfigured"
  | "internal";

/**
 * A way out an error offers, named rather than written: the CLI's message says it as a command line,
 * a chat reply as the chat's command (src/shared/hints.ts).
 */
export type WayOut = "list-tasks" | "resume";

const CLI_WAYS: Record<WayOut, string> = { "list-tasks": 'see "cos task list"', resume: "cos resume starts it again" };

export class CosError extends Error {
  /** The message without its way out. */
  readonly bare: string;
  readonly way: WayOut | null;

  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown; way?: WayOut },
  ) {
    super(options?.way ? `${message} (${CLI_WAYS[options.way]})` : message, options);
    this.name = new.target.name;
    this.bare = message;
    this.way = options?.way ?? null;
  }
}

/**
 * The base of one code's class: the code fixed, the message and the options it takes (`O`) passed on.
 * Each class below is one line, so that a code's constructor is written once.
 */
function withCode<O extends { cause?: unknown; way?: WayOut } = never>(code: ErrorCode) {
  return class extends CosError {
    constructor(message: string, options?: O) {
      super(code, message, options);
    }
  };
}

export class ValidationError extends withCode<{ cause?: unknown; way?: WayOut }>("validation") {}

export class NotFoundError extends withCode<{ way?: WayOut }>("not_found") {}

/** An optimistic-concurrency clash: the stream moved on since it was read. Retried by the command layer. */
export class ConflictError extends withCode("conflict") {}

export class IllegalStateError extends withCode<{ way?: WayOut }>("illegal_state") {}

export class UnauthorizedError extends withCode("unauthorized") {}

/** A known credential, but not for this: a runner's token naming another runner, a link signed for another page, a cross-site form. */
export class ForbiddenError extends withCode("forbidden") {}

/** Input over a size bound (a request body, an update): refused before it is read further. */
export class TooLargeError extends withCode("too_large") {}

/** The store is away or stayed busy: the same command works once it is back. */
export class UnavailableError extends withCode<{ cause?: unknown }>("unavailable") {}

/** Something about this installation needs changing before the command can work. */
export class MisconfiguredError extends withCode<{ cause?: unknown }>("misconfigured") {}

export function toCosError(error: unknown): CosError {
  if (error instanceof CosError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CosError("internal", message, { cause: error });
}

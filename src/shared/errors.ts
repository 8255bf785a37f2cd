// One error family. Every adapter maps `code` to its own surface (exit code, HTTP status, chat reply);
// anything else caught at a boundary is normalised with `toCosError`.
export type ErrorCode = "validation" | "not_found" | "conflict" | "illegal_state" | "unauthorized" | "forbidden" | "too_large" | "internal";

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

export class ValidationError extends CosError {
  constructor(message: string, options?: { cause?: unknown; way?: WayOut }) {
    super("validation", message, options);
  }
}

export class NotFoundError extends CosError {
  constructor(message: string, options?: { way?: WayOut }) {
    super("not_found", message, options);
  }
}

/** An optimistic-concurrency clash: the stream moved on since it was read. Retried by the command layer. */
export class ConflictError extends CosError {
  constructor(message: string) {
    super("conflict", message);
  }
}

export class IllegalStateError extends CosError {
  constructor(message: string, options?: { way?: WayOut }) {
    super("illegal_state", message, options);
  }
}

export class UnauthorizedError extends CosError {
  constructor(message: string) {
    super("unauthorized", message);
  }
}

/** A known credential, but not for this: a runner's token naming another runner, a link signed for another page, a cross-site form. */
export class ForbiddenError extends CosError {
  constructor(message: string) {
    super("forbidden", message);
  }
}

/** Input over a size bound (a request body, an update): refused before it is read further. */
export class TooLargeError extends CosError {
  constructor(message: string) {
    super("too_large", message);
  }
}

export function toCosError(error: unknown): CosError {
  if (error instanceof CosError) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new CosError("internal", message, { cause: error });
}

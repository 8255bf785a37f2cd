// One error family. Every adapter maps `code` to its own surface (exit code, HTTP status, chat reply);
// anything else caught at a boundary is normalised with `toCosError`.
export type ErrorCode = "validation" | "not_found" | "conflict" | "illegal_state" | "unauthorized" | "forbidden" | "too_large" | "internal";

export class CosError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class ValidationError extends CosError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("validation", message, options);
  }
}

export class NotFoundError extends CosError {
  constructor(message: string) {
    super("not_found", message);
  }
}

/** An optimistic-concurrency clash: the stream moved on since it was read. Retried by the command layer. */
export class ConflictError extends CosError {
  constructor(message: string) {
    super("conflict", message);
  }
}

export class IllegalStateError extends CosError {
  constructor(message: string) {
    super("illegal_state", message);
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

import { describe, expect, it } from "vitest";
import {
  ConflictError,
  CosError,
  IllegalStateError,
  NotFoundError,
  TooLargeError,
  UnauthorizedError,
  ValidationError,
  toCosError,
} from "../../src/shared/errors.ts";

describe("the error family", () => {
  it.each([
    [new ValidationError("v"), "validation", "ValidationError"],
    [new NotFoundError("n"), "not_found", "NotFoundError"],
    [new ConflictError("c"), "conflict", "ConflictError"],
    [new IllegalStateError("i"), "illegal_state", "IllegalStateError"],
    [new UnauthorizedError("u"), "unauthorized", "UnauthorizedError"],
    [new TooLargeError("t"), "too_large", "TooLargeError"],
  ])("gives %s its code and class name", (error, code, name) => {
    expect(error).toBeInstanceOf(CosError);
    expect(error.code).toBe(code);
    expect(error.name).toBe(name);
  });

  it("keeps a CosError as it is at a boundary", () => {
    const error = new ConflictError("stream moved");
    expect(toCosError(error)).toBe(error);
  });

  it("normalises any other Error to an internal error that keeps its cause", () => {
    const cause = new TypeError("boom");
    const error = toCosError(cause);
    expect(error).toMatchObject({ code: "internal", message: "boom", cause });
  });

  it("normalises a thrown string", () => {
    expect(toCosError("oops")).toMatchObject({ code: "internal", message: "oops" });
  });
});

import { describe, expect, it } from "vitest";
import { SECRET_ENV_NAMES, parseEnv } from "../../src/config/env.ts";
import { ValidationError } from "../../src/shared/errors.ts";
import { thrownBy } from "./given.ts";

const refusal = (source: Record<string, string>) => thrownBy(() => parseEnv(source), ValidationError, "the environment was accepted");

describe("parsing the environment", () => {
  it("uses the defaults of DESIGN §8", () => {
    const env = parseEnv({});
    expect(env).toMatchObject({
      COS_DB_URL: "file:./data/cos.db",
      COS_HOST: "127.0.0.1",
      COS_PORT: 8787,
      TELEGRAM_ALLOWED_USER_IDS: [],
      SLACK_ALLOWED_USER_IDS: [],
    });
    expect(env.COS_CONFIG).toBeUndefined();
    expect(env.TELEGRAM_BOT_TOKEN).toBeUndefined();
  });

  it("reads the given values, trimmed", () => {
    const env = parseEnv({ COS_DB_URL: " libsql://db.example ", COS_DB_AUTH_TOKEN: "tok", COS_HOST: "0.0.0.0", COS_PORT: "9000", COS_PUBLIC_URL: " https://cos.example " });
    expect(env).toMatchObject({ COS_DB_URL: "libsql://db.example", COS_DB_AUTH_TOKEN: "tok", COS_HOST: "0.0.0.0", COS_PORT: 9000, COS_PUBLIC_URL: "https://cos.example" });
  });

  it("treats a blank optional variable as unset", () => {
    const env = parseEnv({ TELEGRAM_BOT_TOKEN: "", SLACK_SIGNING_SECRET: "   ", COS_CONFIG: "" });
    expect(env.TELEGRAM_BOT_TOKEN).toBeUndefined();
    expect(env.SLACK_SIGNING_SECRET).toBeUndefined();
    expect(env.COS_CONFIG).toBeUndefined();
  });

  it("leaves out variables it does not know", () => {
    expect(parseEnv({ HOME: "/root", PATH: "/bin" })).not.toHaveProperty("HOME");
  });

  it("names the secrets that never reach an agent", () => {
    expect([...SECRET_ENV_NAMES].sort()).toEqual(
      ["COS_API_TOKEN", "COS_DB_AUTH_TOKEN", "COS_LINK_SECRET", "COS_RUNNER_TOKEN", "SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "TELEGRAM_BOT_TOKEN", "TELEGRAM_WEBHOOK_SECRET"],
    );
  });
});

describe("COS_LINK_SECRET", () => {
  it("is unset when blank, and refused when too short to be a key", () => {
    expect(parseEnv({ COS_LINK_SECRET: " " }).COS_LINK_SECRET).toBeUndefined();
    expect(parseEnv({ COS_LINK_SECRET: "k".repeat(32) }).COS_LINK_SECRET).toBe("k".repeat(32));
    expect(refusal({ COS_LINK_SECRET: "short" }).message).toMatch(/COS_LINK_SECRET: use at least 32 characters/);
  });
});

describe("COS_PORT", () => {
  it.each([
    ["0", 0],
    ["1", 1],
    ["65535", 65535],
    [" 8080 ", 8080],
  ])("accepts %j", (value, port) => {
    expect(parseEnv({ COS_PORT: value }).COS_PORT).toBe(port);
  });

  it.each([
    ["65536", "<=65535"],
    ["-1", ">=0"],
    ["80.5", "expected int"],
    ["http", "expected number"],
  ])("refuses %j and names the variable", (value, message) => {
    const error = refusal({ COS_PORT: value });
    expect(error.message).toContain("environment variable COS_PORT: ");
    expect(error.message).toContain(message);
  });

  it.each(["", "  "])("does not turn a blank COS_PORT (%j) into port 0, a random port", (value) => {
    let port: number;
    try {
      port = parseEnv({ COS_PORT: value }).COS_PORT;
    } catch (error) {
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as Error).message).toContain("COS_PORT");
      return;
    }
    expect(port).toBe(8787);
  });
});

describe("allowlists", () => {
  it("splits comma-separated user ids, dropping blanks and spaces", () => {
    const env = parseEnv({ TELEGRAM_ALLOWED_USER_IDS: " 123, 456,,789 ,", SLACK_ALLOWED_USER_IDS: "U01ABC" });
    expect(env.TELEGRAM_ALLOWED_USER_IDS).toEqual(["123", "456", "789"]);
    expect(env.SLACK_ALLOWED_USER_IDS).toEqual(["U01ABC"]);
  });

  it("gives an empty allowlist for a blank variable", () => {
    expect(parseEnv({ TELEGRAM_ALLOWED_USER_IDS: " , " }).TELEGRAM_ALLOWED_USER_IDS).toEqual([]);
  });
});

describe("required values that are blank", () => {
  it("refuses a blank COS_DB_URL and names it", () => {
    expect(refusal({ COS_DB_URL: " " }).message).toContain("environment variable COS_DB_URL");
  });
});

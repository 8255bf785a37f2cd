import { describe, expect, it } from "vitest";
import { SECRET_ENV_NAMES, parseEnv } from "../../src/config/env.ts";
import { PLATFORMS, PLATFORM_NAMES, allowedUsers, configuredPlatforms, notifiedPlatforms } from "../../src/config/platforms.ts";

describe("the platform registry", () => {
  it("parses every platform's variables with the rest of the environment", () => {
    for (const name of PLATFORM_NAMES) {
      const entry = PLATFORMS[name];
      const env = parseEnv({ [entry.token]: " t0ken ", [entry.allowlist]: "1, 2,,3" }) as Record<string, unknown>;
      expect(env[entry.token]).toBe("t0ken");
      expect(env[entry.allowlist]).toEqual(["1", "2", "3"]);
    }
  });

  it("keeps every platform's secrets, its token among them, from agents", () => {
    for (const entry of Object.values(PLATFORMS)) {
      expect(entry.secrets).toContain(entry.token);
      for (const secret of entry.secrets) expect(SECRET_ENV_NAMES).toContain(secret);
    }
  });

  it("starts a platform with its token, and notifies it only with a destination too", () => {
    const env = parseEnv({ TELEGRAM_BOT_TOKEN: "t", SLACK_BOT_TOKEN: "s", SLACK_CHANNEL_ID: "C1" });
    expect(configuredPlatforms(env)).toEqual(["telegram", "slack"]);
    expect(notifiedPlatforms(env)).toEqual(["slack"]);
    expect(notifiedPlatforms(parseEnv({ TELEGRAM_CHAT_ID: "-100" }))).toEqual([]);
  });

  it("reads each platform's allowlist", () => {
    const env = parseEnv({ TELEGRAM_ALLOWED_USER_IDS: "111,222", SLACK_ALLOWED_USER_IDS: "U1" });
    expect([...allowedUsers(env, "telegram")]).toEqual(["111", "222"]);
    expect([...allowedUsers(env, "slack")]).toEqual(["U1"]);
  });
});

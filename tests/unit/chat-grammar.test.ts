import { describe, expect, it } from "vitest";
import { parseChatCommand } from "../../src/chat/grammar.ts";

describe("the chat grammar", () => {
  it("reads the issue's example task exactly", () => {
    expect(parseChatCommand("/task Add MDX blog #code @builder after:12 area:blog")).toEqual({
      ok: true,
      command: {
        name: "task",
        task: {
          title: "Add MDX blog",
          description: "",
          type: "code",
          agent: "builder",
          blockedBy: [12],
          area: "blog",
          goalId: null,
          initiativeId: null,
          tier: null,
          project: null,
          priority: null,
        },
      },
    });
  });

  it("takes every option and the further lines as the description", () => {
    const parsed = parseChatCommand("/task Write post #content @writer after:1,2 goal:3 initiative:5 tier:quick project:site prio:2\nTone: friendly.\nAbout 800 words.");
    expect(parsed.ok && parsed.command.name === "task" && parsed.command.task).toMatchObject({
      title: "Write post",
      blockedBy: [1, 2],
      goalId: 3,
      initiativeId: 5,
      tier: "quick",
      project: "site",
      priority: 2,
      description: "Tone: friendly.\nAbout 800 words.",
    });
  });

  it("says everything that is wrong with a malformed task at once", () => {
    const parsed = parseChatCommand("/task after:x tier:urgent");
    expect(parsed.ok).toBe(false);
    if (parsed.ok) return;
    expect(parsed.error).toContain("after:x must list task ids");
    expect(parsed.error).toContain("tier:urgent must be auto, quick or gate");
    expect(parsed.error).toContain("needs a title");
    expect(parsed.error).toContain("#type");
    expect(parsed.error).toContain("@name");
  });

  it("accepts the bot's @name after a command and ids with or without #", () => {
    expect(parseChatCommand("/why@cos_bot #42")).toEqual({ ok: true, command: { name: "why", id: 42 } });
    expect(parseChatCommand("/cancel 7")).toEqual({ ok: true, command: { name: "cancel", id: 7 } });
  });

  it("keeps send-back notes verbatim, special characters and emoji included", () => {
    const notes = "Use _rem_ *not* px [see](x) ~ `code` > # + - = | {} . ! < & 🚀";
    expect(parseChatCommand(`/sendback 42 ${notes}`)).toEqual({ ok: true, command: { name: "sendback", id: 42, notes } });
  });

  it("refuses unknown commands, bad ids, modes and tiers with a usage line", () => {
    expect(parseChatCommand("/frobnicate")).toEqual({ ok: false, error: "unknown command /frobnicate; send /help for the list" });
    expect(parseChatCommand("/stauts")).toEqual({ ok: false, error: "unknown command /stauts; did you mean /status? send /help for the list" });
    expect(parseChatCommand("stauts", "/cos ")).toMatchObject({ ok: false, notCommand: true, error: "did you mean /cos status? send /cos help for the commands" });
    expect(parseChatCommand("hello there")).toMatchObject({ ok: false, notCommand: true });
    expect(parseChatCommand("/why abc")).toMatchObject({ ok: false, error: expect.stringContaining("not a task id") });
    expect(parseChatCommand("/mode fast")).toEqual({ ok: false, error: "usage: /mode sprint or /mode idle (/mode alone shows it)" });
    expect(parseChatCommand("/mode")).toEqual({ ok: true, command: { name: "mode", mode: null } });
    expect(parseChatCommand("/tier @builder code urgent")).toMatchObject({ ok: false });
    expect(parseChatCommand("/sendback 42")).toEqual({ ok: true, command: { name: "sendback", id: 42, notes: null } });
    expect(parseChatCommand("/sendback")).toMatchObject({ ok: false, error: expect.stringContaining("usage") });
  });

  it("refuses an unknown key:value in /task instead of keeping it in the title, and leaves URLs and times alone", () => {
    const parsed = parseChatCommand("/task Fix login prority:2 #code @builder");
    expect(parsed).toMatchObject({ ok: false, error: expect.stringContaining("prority: is not an option of /task (did you mean priority:?)") });
    expect(parseChatCommand("/task Read https://example.com at 10:30 #research @scout")).toMatchObject({
      ok: true,
      command: { task: { title: "Read https://example.com at 10:30" } },
    });
  });

  it("reads /after and /edit, the chat's way to change a task", () => {
    expect(parseChatCommand("/after 9 12,13")).toEqual({ ok: true, command: { name: "after", id: 9, blockedBy: [12, 13] } });
    expect(parseChatCommand("/after 9 none")).toEqual({ ok: true, command: { name: "after", id: 9, blockedBy: [] } });
    expect(parseChatCommand("/edit 9 prio:3 area:blog tier:none @writer")).toEqual({
      ok: true,
      command: { name: "edit", id: 9, changes: { priority: 3, area: "blog", tier: null, agent: "writer" } },
    });
    expect(parseChatCommand("/edit 9 colour:red")).toMatchObject({ ok: false, error: expect.stringContaining("colour: is not an option of /edit") });
  });

  it("reads /tier with a pin and with clear", () => {
    expect(parseChatCommand("/tier @builder code gate")).toEqual({ ok: true, command: { name: "tier", agent: "builder", type: "code", tier: "gate" } });
    expect(parseChatCommand("/tier @builder code clear")).toEqual({ ok: true, command: { name: "tier", agent: "builder", type: "code", tier: null } });
  });
});

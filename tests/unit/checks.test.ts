import { describe, expect, it } from "vitest";
import { cardText } from "../../src/chat/card-text.ts";
import { hintsFor } from "../../src/shared/hints.ts";
import { runEndedTitle } from "../../src/app/run-words.ts";
import type { ReviewCard } from "../../src/chat/types.ts";
import { loadConfig } from "../../src/config/config.ts";
import { checksLine, failingOutputNotes, checkTail, type CheckRecord } from "../../src/domain/task/checks.ts";
import type { TaskCommand } from "../../src/domain/task/decide.ts";
import type { TaskEvent } from "../../src/domain/task/task.ts";
import { DEFAULT_SENSITIVE_PATHS, flagText, matchesPathPattern, reviewFlags } from "../../src/domain/task/flags.ts";
import { IllegalStateError } from "../../src/shared/errors.ts";
import { buildDispatchPrompt } from "../../src/prompt/build.ts";
import { dispatched, givenTask, minutesAfterStart, queued, resultReported, started } from "./given.ts";
import { givenNight, inReview, NOW, plusMinutes } from "./plan-fixtures.ts";

const passed = (name: string, durationMs = 41_000): CheckRecord => ({ name, outcome: "passed", exitCode: 0, durationMs, tail: ["ok"] });
const failed = (name: string, tail = ["src/a.ts:3 unused variable x", "1 problem"]): CheckRecord => ({ name, outcome: "failed", exitCode: 1, durationMs: 3_200, tail });
const timedOut = (name: string): CheckRecord => ({ name, outcome: "timed_out", exitCode: null, durationMs: 600_000, tail: ["waiting"] });

describe("the words for checks", () => {
  it("puts them in one line: ✓ test 41 s · ✗ lint", () => {
    expect(checksLine([passed("test"), failed("lint")])).toBe("✓ test 41 s · ✗ lint");
    expect(checksLine([passed("unit", 3_249), passed("e2e", 125_000), timedOut("smoke")])).toBe("✓ unit 3.2 s · ✓ e2e 2 min 5 s · ✗ smoke timed out");
    expect(checksLine([])).toBe("checks not run: the run changed nothing");
    expect(checksLine(undefined)).toBeNull();
  });

  it("keeps the last 30 lines as plain text: colours dropped, a progress bar as it ended, long lines cut", () => {
    const output = Array.from({ length: 40 }, (_, i) => `line ${i + 1}`).join("\n") + "\n\u001b[31mFAIL\u001b[0m src/a.test.ts\n10%\r50%\r100%\n" + "y".repeat(500) + "\n\n";
    const tail = checkTail(output);
    expect(tail).toHaveLength(30);
    expect(tail.slice(-3)).toEqual(["FAIL src/a.test.ts", "100%", `${"y".repeat(399)}…`]);
    expect(tail[0]).toBe("line 14");
    expect(checkTail("")).toEqual([]);
  });

  it("writes the notes of an automatic send-back: each failing check, how it ended, its last lines", () => {
    expect(failingOutputNotes([passed("test"), failed("lint"), timedOut("e2e")])).toBe(
      "The project's checks failed on this result, so it was sent back automatically (not by a person):\n\n" +
        "✗ lint: exit code 1 after 3.2 s; its last lines:\nsrc/a.ts:3 unused variable x\n1 problem\n\n" +
        "✗ e2e: timed out after 10 min; its last lines:\nwaiting",
    );
  });
});

describe("review flags", () => {
  const match = (path: string, pattern: string) => matchesPathPattern(path, pattern);

  it("reads patterns as .gitignore does: a bare name anywhere, a slash anchors, a trailing slash is a folder", () => {
    expect(match("package-lock.json", "package-lock.json")).toBe(true);
    expect(match("web/package-lock.json", "package-lock.json")).toBe(true);
    expect(match("Cargo.lock", "*.lock")).toBe(true);
    expect(match("src/clock.ts", "*.lock")).toBe(false);
    expect(match("db/migrations/0007_add.sql", "migrations/")).toBe(true);
    expect(match("migrations", "migrations/")).toBe(false);
    expect(match(".github/workflows/ci.yml", ".github/workflows/")).toBe(true);
    expect(match("docs/.github/workflows/ci.yml", ".github/workflows/")).toBe(false);
    expect(match(".env.production", ".env*")).toBe(true);
    expect(match("config/.env", ".env*")).toBe(true);
    expect(match("src/environment.ts", ".env*")).toBe(false);
    expect(match("config/prod/app.yml", "/config/**/*.yml")).toBe(true);
    expect(match("config/app.yml", "config/**/*.yml")).toBe(true);
    expect(match("a/config/app.yml", "config/**/*.yml")).toBe(false);
  });

  it("flags sensitive paths (a rename's old path too) and deletions over the threshold", () => {
    const settings = { sensitivePaths: DEFAULT_SENSITIVE_PATHS, flagDeletionsOver: 200 };
    const flags = reviewFlags(
      {
        changes: [
          { path: "src/a.ts", change: "modified" },
          { path: "pnpm-lock.yaml", change: "modified" },
          { path: "db/old.sql", change: "renamed", from: "migrations/0001.sql" },
          { path: "src/legacy.ts", change: "deleted" },
        ],
        diffStat: { files: 4, insertions: 10, deletions: 640 },
      },
      settings,
    );
    expect(flags.map(flagText)).toEqual(["⚑ sensitive: migrations/0001.sql, pnpm-lock.yaml", "⚑ 640 lines deleted (over 200); removed: src/legacy.ts"]);
    expect(reviewFlags({ changes: [{ path: "src/a.ts", change: "modified" }], diffStat: { files: 1, insertions: 1, deletions: 200 } }, settings)).toEqual([]);
  });

  it("says when more paths changed than a report carries, rather than miss a sensitive one quietly", () => {
    const flags = reviewFlags({ changes: [{ path: "a", change: "added" }], diffStat: { files: 9000, insertions: 9000, deletions: 0 } }, { sensitivePaths: [], flagDeletionsOver: 200 });
    expect(flags.map(flagText)).toEqual(["⚑ 9000 files changed: too many to look for sensitive paths"]);
  });
});

const sections = { summary: "Tidied", handoff: null, whatWorked: null, reusablePattern: null };
const report = (checks: CheckRecord[] | undefined, onFailedChecks?: "review" | "send-back", attempt = 1): TaskCommand => ({
  type: "ReportResult",
  data: { attempt, exitCode: 0, durationMs: 1000, sections, diffStat: null, maxAttempts: 2, ...(checks ? { checks } : {}), ...(onFailedChecks ? { onFailedChecks } : {}) },
});
const running = (): TaskEvent[] => [queued(), dispatched(1), started(1)];
/** A TaskResultReported that carries checks. */
function checkedResult(attempt: number, checks: CheckRecord[]): TaskEvent {
  const event = resultReported(attempt) as Extract<TaskEvent, { type: "TaskResultReported" }>;
  return { ...event, data: { ...event.data, checks } };
}

describe("what a failed check does", () => {
  it("review (the default): the result goes to review with its checks", () => {
    const state = givenTask(running()).when(report([failed("lint")])).thenState();
    expect(state).toMatchObject({ status: "review", attempt: 1, autoSendBacks: 0 });
    expect(state.result!.checks).toEqual([failed("lint")]);
  });

  it("send-back: the result is recorded, then sent back once on its own with the failing output as notes; no verdict", () => {
    givenTask(running()).when(report([passed("test"), failed("lint")], "send-back")).then([
      {
        type: "TaskResultReported",
        data: { attempt: 1, exitCode: 0, durationMs: 1000, ...sections, diffStat: null, checks: [passed("test"), failed("lint")] },
      },
      { type: "TaskSentBackAutomatically", data: { attempt: 1, notes: failingOutputNotes([failed("lint")]), failed: ["lint"] } },
    ]);
    const state = givenTask(running()).when(report([failed("lint")], "send-back")).thenState();
    expect(state).toMatchObject({ status: "queued", attempt: 2, autoSendBacks: 1, verdicts: [] });
    expect(state.feedback).toMatchObject({ attempt: 1, automatic: true, notes: failingOutputNotes([failed("lint")]) });
  });

  it("send-back: the run's start message is edited to say it finished and went back on its own, not that it failed", () => {
    const state = givenTask(running()).when(report([failed("lint")], "send-back")).thenState();
    expect(runEndedTitle(state, minutesAfterStart(31))).toBe("↩️ #7 Blog engine: MDX pipeline: finished after 20 min, but its checks failed: sent back automatically for attempt 2");
  });

  it("send-back: a second failure goes to review", () => {
    const history: TaskEvent[] = [
      ...running(),
      checkedResult(1, [failed("lint")]),
      { type: "TaskSentBackAutomatically", data: { attempt: 1, notes: "…", failed: ["lint"] }, at: minutesAfterStart(13) },
      dispatched(2),
      started(2),
    ];
    const state = givenTask(history).when(report([failed("lint")], "send-back", 2)).thenState();
    expect(state).toMatchObject({ status: "review", attempt: 2, autoSendBacks: 1 });
  });

  it("send-back: passing checks, or none, go to review", () => {
    expect(givenTask(running()).when(report([passed("test")], "send-back")).thenState().status).toBe("review");
    expect(givenTask(running()).when(report(undefined, "send-back")).thenState().status).toBe("review");
  });

  it("an auto or quick result whose checks failed is never approved on its own, even if asked", () => {
    const history = [queued(), dispatched(1, minutesAfterStart(10), "auto"), started(1), checkedResult(1, [failed("lint")])];
    givenTask(history).when({ type: "AutoApprove", data: { attempt: 1, tier: "auto", spotCheck: false } }).thenThrows(IllegalStateError, "failed its checks");
  });

  it("older results, recorded before checks, fold as results without checks", () => {
    const state = givenTask([...running(), resultReported(1)]).when({ type: "NoteActivity", data: { text: "hello" } }).thenState();
    expect(state.result!.checks).toBeUndefined();
    expect(state.autoSendBacks).toBe(0);
  });
});

describe("the timer and failed checks", () => {
  it("the plan never approves an item whose checks failed, however long it waits", () => {
    const planned = givenNight({
      tasks: [inReview(30, "auto", plusMinutes(NOW, -100 * 60), { checksFailed: true }), inReview(31, "quick", plusMinutes(NOW, -100 * 60), { checksFailed: true }), inReview(32, "auto", plusMinutes(NOW, -100 * 60))],
    }).whenPlanned();
    expect(planned.of("auto_approve").map((d) => d.taskId)).toEqual([32]);
  });
});

describe("the card", () => {
  const card = (over: Partial<ReviewCard> = {}): ReviewCard => ({
    taskId: 42, attempt: 1, title: "Tidy", agent: "builder", type: "code", tier: "auto", summary: "Tidied.", decided: null, pageUrl: null, diffStat: null, autoApproveAt: null, ...over,
  });

  it("shows the checks line and the flags among the facts, each failed check's last ten lines, and why the timer will not approve it", () => {
    const lines = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);
    const text = cardText(card({ checks: [passed("test"), failed("lint", lines)], flags: [{ kind: "sensitive", paths: ["package-lock.json"], count: 1 }] }), { timezone: "UTC" }, hintsFor("telegram"));
    expect(text.facts).toEqual(["builder · code · tier auto · attempt 1", "✓ test 41 s · ✗ lint", "⚑ sensitive: package-lock.json"]);
    expect(text.failedChecks).toEqual([{ title: "✗ lint: exit code 1 after 3.2 s", lines: lines.slice(-10) }]);
    expect(text.timer).toBe("⏱ Not approved on its own: a check failed, so a person decides.");
    expect(text.buttons).toHaveLength(3);
  });

  it("words an automatic send-back as no person's verdict", () => {
    const text = cardText(card({ checks: [failed("lint")], decided: { verdict: "auto_sent_back", by: "checks", notes: null } }), { timezone: "UTC" }, hintsFor("telegram"));
    expect(text.verdict).toBe("↩️ Sent back automatically: a check failed (not a person's verdict; it runs again with the failing output as notes)");
    expect(text).toMatchObject({ buttons: [], timer: null });
  });
});

describe("the prompt after an automatic send-back", () => {
  it("opens with the failing output, said to come from the checks", () => {
    const notes = failingOutputNotes([failed("lint")]);
    const { text } = buildDispatchPrompt({
      task: { id: 42, title: "Tidy", description: "", type: "code", agent: "builder", project: "site", attempt: 2 },
      feedback: { notes, attempt: 1, previousResult: "## Summary\nTidied.", automatic: true },
      goal: null, initiative: null, prerequisites: [], siblings: [], skills: [], signals: [],
    });
    expect(text.startsWith(`# Feedback from the last attempt\n\nAttempt 1 was sent back automatically: the project's checks failed on it. Their failing output, verbatim:\n\n> ${notes.split("\n")[0]}`)).toBe(true);
    expect(text).toContain("> src/a.ts:3 unused variable x");
  });
});

describe("the configuration", () => {
  it("reads checks per project and the review settings, with their defaults", async () => {
    const { mkdtempSync, writeFileSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { join } = await import("node:path");
    const dir = mkdtempSync(join(tmpdir(), "cos-checks-config-"));
    writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ projects: { site: { repo: ".", checks: [{ name: "test", command: ["npm", "test"] }] } } }));
    const { config } = loadConfig(undefined, dir);
    expect(config.projects.site!.checks).toEqual([{ name: "test", command: ["npm", "test"], timeoutMinutes: 10 }]);
    expect(config.review).toMatchObject({ onFailedChecks: "review", flagDeletionsOver: 200, sensitivePaths: [...DEFAULT_SENSITIVE_PATHS] });
    writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ projects: { site: { repo: ".", checks: [{ name: "t", command: ["a"] }, { name: "t", command: ["b"] }] } } }));
    expect(() => loadConfig(undefined, dir)).toThrow(/projects\.site\.checks.*same name/);
    writeFileSync(join(dir, "cos.config.json"), JSON.stringify({ review: { onFailedChecks: "retry" } }));
    expect(() => loadConfig(undefined, dir)).toThrow(/review\.onFailedChecks/);
  });
});

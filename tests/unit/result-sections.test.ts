import { describe, expect, it } from "vitest";
import { parseResultSections } from "../../src/domain/task/result.ts";

const full = [
  "## Summary",
  "MDX blog engine fully implemented.",
  "",
  "## Handoff",
  "Posts live in content/posts; call renderMdx(path).",
  "",
  "## What Worked",
  "Writing the fixtures first.",
  "",
  "## Reusable Pattern",
  "One remark plugin per concern.",
].join("\n");

describe("parsing a result's sections", () => {
  it("splits the four sections of the protocol", () => {
    expect(parseResultSections(full)).toEqual({
      summary: "MDX blog engine fully implemented.",
      handoff: "Posts live in content/posts; call renderMdx(path).",
      whatWorked: "Writing the fixtures first.",
      reusablePattern: "One remark plugin per concern.",
    });
  });

  it("reads headings in any case, with extra spaces, a trailing colon or closing hashes", () => {
    const text = "##   SUMMARY:\nall done\n## handoff ##\nnext: deploy\n## what   WORKED\nsmall steps\n## Reusable pattern\nretry";
    expect(parseResultSections(text)).toEqual({ summary: "all done", handoff: "next: deploy", whatWorked: "small steps", reusablePattern: "retry" });
  });

  it("keeps a result without any section whole as the summary", () => {
    const text = "  I looked into it.\n\n# Findings\n- nothing unusual\n";
    expect(parseResultSections(text)).toEqual({ summary: "I looked into it.\n\n# Findings\n- nothing unusual", handoff: null, whatWorked: null, reusablePattern: null });
  });

  it("keeps a result whose only ## headings are unknown whole as the summary", () => {
    expect(parseResultSections("## Notes\nsome notes").summary).toBe("## Notes\nsome notes");
  });

  it("takes the text outside the sections as the summary when there is no Summary section", () => {
    expect(parseResultSections("Did the thing.\n\n## Handoff\nUse it.")).toEqual({
      summary: "Did the thing.",
      handoff: "Use it.",
      whatWorked: null,
      reusablePattern: null,
    });
  });

  it("prefers the Summary section to text outside the sections", () => {
    expect(parseResultSections("preamble\n## Summary\nthe real summary\n## Handoff\nh").summary).toBe("the real summary");
  });

  it("ends a section at an unknown ## heading", () => {
    const sections = parseResultSections("## Handoff\nuse it\n## Notes\nscratch");
    expect(sections.handoff).toBe("use it");
    expect(sections.summary).toBe("## Notes\nscratch");
  });

  it("keeps ### subheadings inside their section", () => {
    expect(parseResultSections("## Handoff\n### API\nrenderMdx()\n## Summary\ns").handoff).toBe("### API\nrenderMdx()");
  });

  it("gives an empty section as null", () => {
    expect(parseResultSections("## Summary\nok\n## Handoff\n\n## What Worked\n  \n").handoff).toBeNull();
    expect(parseResultSections("## Summary\nok\n## Handoff\n\n## What Worked\n  \n").whatWorked).toBeNull();
  });

  it("gives an empty summary when there are sections but no summary text anywhere", () => {
    expect(parseResultSections("## Handoff\nh").summary).toBe("");
  });

  it("joins a section that appears twice", () => {
    expect(parseResultSections("## Handoff\nfirst\n## Summary\ns\n## Handoff\nsecond").handoff).toBe("first\nsecond");
  });

  it("reads Windows and old Mac line endings", () => {
    expect(parseResultSections(full.replace(/\n/g, "\r\n"))).toEqual(parseResultSections(full));
    expect(parseResultSections("## Summary\rdone\r## Handoff\rnext")).toMatchObject({ summary: "done", handoff: "next" });
  });

  it("leaves no carriage return in a whole-text summary", () => {
    expect(parseResultSections("line one\r\nline two\r\n").summary).toBe("line one\nline two");
  });

  it("keeps an empty result as an empty summary", () => {
    expect(parseResultSections("")).toEqual({ summary: "", handoff: null, whatWorked: null, reusablePattern: null });
  });
});

import { raw } from "hono/html";
import type { CardAction } from "../../src/chat/card-text.ts";
import { statusWord } from "../../src/plan/hold-words.ts";
import type { DiffFileView, DiffHunkView } from "../../src/pages/diff-view.ts";
import { escapeHtml } from "../../src/pages/highlight.ts";
import type { TaskPage } from "../../src/pages/task-page.ts";
import { Layout, type Tabs } from "./layout.tsx";

// A task's review page: the result, the diff per file, the prompt, the log's end and the timeline, and
// while the result waits for a verdict, Approve / Send back / Discard. The words of the verdict buttons,
// facts and verdict line are the card's (src/chat/card-text.ts).

export interface TaskLinks {
  /** Where the verdict forms post. */
  verdict: string;
  /** The raw patch. */
  patch: string;
  /** The token every form carries (bound to the page's key and the attempt shown). */
  formToken: string;
}

/** What the last action on the page did, shown at its top. */
export type Outcome = { kind: "done"; verdict: "approve" | "send_back" | "discard" } | { kind: "stale" } | { kind: "refused"; message: string } | null;

const FALLBACK_LABELS: Record<CardAction, string> = { approve: "✅ Approve", send_back: "↩️ Send back", discard: "🗑 Discard" };

export function TaskView(props: { page: TaskPage; links: TaskLinks; tabs: Tabs | null; outcome: Outcome }) {
  const { page, links, outcome } = props;
  const t = page.task;
  const label = (action: CardAction) => page.card?.buttons.find((b) => b.action === action)?.label ?? FALLBACK_LABELS[action];
  const hidden = (verdict: CardAction) => (
    <>
      <input type="hidden" name="verdict" value={verdict} />
      <input type="hidden" name="attempt" value={String(page.attempt)} />
      <input type="hidden" name="f" value={links.formToken} />
      <input type="hidden" name="initData" value="" />
    </>
  );
  const bar = page.open ? (
    <nav class="bar" aria-label="Verdict">
      <form method="post" action={links.verdict}>
        {hidden("approve")}
        <button class="primary">{label("approve")}</button>
      </form>
      <a class="btn" href="#sendback">
        {label("send_back")}
      </a>
      <a class="btn" href="#discard">
        {label("discard")}
      </a>
    </nav>
  ) : null;
  const r = t.result;
  return (
    <Layout title={`#${t.id} ${t.title}`} tabs={props.tabs} bar={bar}>
      <OutcomeBanner outcome={outcome} attempt={page.attempt} />
      <h1>
        #{t.id} {t.title}
      </h1>
      {page.card ? page.card.facts.map((f) => <p class="meta">{f}</p>) : <p class="meta">{`${t.agent} · ${t.type} · attempt ${t.attempt}`}</p>}
      <p class="meta">
        <span class="chip">{statusWord(t.status)}</span>
        {t.status !== "review" && page.card && t.attempt !== page.attempt ? ` attempt ${t.attempt} is ${statusWord(t.status)}` : ""}
      </p>
      {page.card?.timer ? <p class="meta">{page.card.timer}</p> : null}
      {page.card?.verdict ? <p class="banner verdict">{page.card.verdict}</p> : null}
      {t.description ? (
        <details>
          <summary>The task</summary>
          <div class="body">
            <pre class="text">{t.description}</pre>
          </div>
        </details>
      ) : null}
      {t.feedback?.notes && t.feedback.attempt < page.attempt ? (
        <details>
          <summary>Notes that sent back attempt {t.feedback.attempt}</summary>
          <div class="body">
            <pre class="text">{t.feedback.notes}</pre>
          </div>
        </details>
      ) : null}
      <Checks page={page} />
      {r ? (
        <>
          <h2>Summary</h2>
          <pre class="text">{r.summary.trim() || "(no summary)"}</pre>
          {r.handoff ? <Section title="Handoff" text={r.handoff} /> : null}
          {r.whatWorked ? <Section title="What worked" text={r.whatWorked} /> : null}
          {r.reusablePattern ? <Section title="Reusable pattern" text={r.reusablePattern} /> : null}
        </>
      ) : (
        <p class="muted">No result yet.</p>
      )}
      <Changes page={page} patchHref={links.patch} />
      {page.prompt ? (
        <details>
          <summary>Prompt</summary>
          <div class="body">
            <p class="meta">{page.prompt.note}</p>
            <pre class="scroll">{page.prompt.text}</pre>
          </div>
        </details>
      ) : null}
      {page.log ? (
        <details>
          <summary>Log</summary>
          <div class="body">
            <p class="meta">{page.log.note}</p>
            {page.log.text ? <pre class="scroll">{page.log.text}</pre> : null}
          </div>
        </details>
      ) : null}
      <details>
        <summary>Timeline ({page.timeline.length})</summary>
        <div class="body">
          <ol class="timeline">
            {page.timeline.map((e) => (
              <li>
                <div class="meta">
                  {e.when} · {e.who}
                </div>
                <div>{e.what}</div>
              </li>
            ))}
          </ol>
        </div>
      </details>
      {page.open ? (
        <>
          <section id="sendback">
            <h2>{label("send_back")}</h2>
            <form method="post" action={links.verdict}>
              {hidden("send_back")}
              <label for="notes" class="meta">
                What should the agent change? Tap a line of the diff to add its <code>path:line</code>.
              </label>
              <textarea id="notes" name="notes" required maxlength={100000} placeholder="path:line: what to change"></textarea>
              <div class="actions">
                <button type="button" data-close>
                  Keep reading
                </button>
                <button class="send">{label("send_back")}</button>
              </div>
            </form>
          </section>
          <section id="discard">
            <h2>{label("discard")}</h2>
            <p class="meta">The result is dropped{page.diff ? `; its commits are kept under refs/cos/discarded/${t.id}` : ""}. This cannot be undone here.</p>
            <form method="post" action={links.verdict}>
              {hidden("discard")}
              <button class="danger">
                {label("discard")} #{t.id}
              </button>
            </form>
          </section>
        </>
      ) : null}
    </Layout>
  );
}

/** The result's checks before its summary: a failed one open with its output's end, a passed one folded. */
function Checks({ page }: { page: TaskPage }) {
  if (!page.checks) return null;
  if (!page.checks.length) return <p class="meta">checks not run: the run changed nothing</p>;
  return (
    <>
      <h2>Checks</h2>
      {page.checks.map((c) => (
        <details open={c.failed}>
          <summary>{c.word}</summary>
          <div class="body">
            {c.ending ? <p class="meta">{c.ending}</p> : null}
            {c.note ? <p class="meta">{c.note}</p> : null}
            <p class="meta">{c.output.note}</p>
            {c.output.text ? <pre class="scroll">{c.output.text}</pre> : null}
          </div>
        </details>
      ))}
    </>
  );
}

function Section(props: { title: string; text: string }) {
  return (
    <>
      <h2>{props.title}</h2>
      <pre class="text">{props.text.trim()}</pre>
    </>
  );
}

function OutcomeBanner({ outcome, attempt }: { outcome: Outcome; attempt: number }) {
  if (!outcome) return null;
  switch (outcome.kind) {
    case "done": {
      const words =
        outcome.verdict === "approve"
          ? "✅ Approved. The chat card shows it."
          : outcome.verdict === "discard"
            ? "🗑 Discarded. The chat card shows it."
            : `↩️ Sent back with your notes: attempt ${attempt + 1} will start from them. The chat card shows it.`;
      return <p class="banner ok" role="status">{words}</p>;
    }
    case "stale":
      return (
        <p class="banner warn" role="status">
          Already decided: nothing was recorded. The page shows where the task stands now.
        </p>
      );
    case "refused":
      return (
        <p class="banner bad" role="alert">
          {outcome.message}
        </p>
      );
    default: {
      const never: never = outcome;
      return never;
    }
  }
}

function Changes({ page, patchHref }: { page: TaskPage; patchHref: string }) {
  const diff = page.diff;
  if (!diff) return null;
  if ("unavailable" in diff) {
    return (
      <>
        <h2>Changes</h2>
        <p class="muted">{diff.unavailable}</p>
      </>
    );
  }
  const { view } = diff;
  return (
    <>
      <h2>Changes</h2>
      <p class="meta">
        {view.files.length} file{view.files.length === 1 ? "" : "s"}, <span class="plus">+{view.added}</span> <span class="minus">−{view.deleted}</span> ·{" "}
        <a href={patchHref}>raw patch</a>
        {page.open ? " · tap a line to add it to your notes" : ""}
      </p>
      <ol class="files">
        {view.files.map((f, i) => (
          <li>
            <a href={`#f${i + 1}`}>
              <span class="path">{f.path}</span>
              <span class="plus">+{f.added}</span>
              <span class="minus">−{f.deleted}</span>
            </a>
          </li>
        ))}
      </ol>
      {view.files.map((f, i) => (
        <FileDiff file={f} index={i + 1} patchHref={patchHref} />
      ))}
    </>
  );
}

const CHANGE_WORDS: Record<DiffFileView["change"], string> = { added: "new", deleted: "deleted", renamed: "renamed", modified: "" };

function FileDiff({ file, index, patchHref }: { file: DiffFileView; index: number; patchHref: string }) {
  const shown = !file.binary && !file.omitted && file.hunks.length > 0;
  return (
    <details class="file" open={shown} id={`f${index}`} data-path={file.path}>
      <summary>
        <span class="path">
          {file.path}
          {file.from ? ` ← ${file.from}` : ""}
          {CHANGE_WORDS[file.change] ? <span class="muted"> ({CHANGE_WORDS[file.change]})</span> : null}
        </span>
        <span class="plus">+{file.added}</span>
        <span class="minus">−{file.deleted}</span>
      </summary>
      {file.binary ? (
        <p class="body muted">A binary file.</p>
      ) : file.omitted ? (
        <p class="body muted">
          Not shown here ({file.omitted}): see the <a href={patchHref}>raw patch</a>.
        </p>
      ) : shown ? (
        <div class="code">
          <div class="lines">{raw(linesHtml(file.hunks))}</div>
        </div>
      ) : (
        <p class="body muted">No lines changed (a mode or a name only).</p>
      )}
    </details>
  );
}

/**
 * A file's lines as HTML, written as one string: a 500-line diff is thousands of elements, and this is
 * the page's bulk. A line is `<p class="a|d"><i>number</i>highlighted text</p>`; the script reads the
 * number from `<i>` and the path from the file's `data-path`.
 */
export function linesHtml(hunks: DiffHunkView[]): string {
  let out = "";
  for (const hunk of hunks) {
    out += `<p class="h">${escapeHtml(hunk.header)}</p>`;
    for (const line of hunk.lines) out += `<p${line.kind === "add" ? ' class="a"' : line.kind === "del" ? ' class="d"' : ""}><i>${line.number}</i>${line.html}</p>`;
  }
  return out;
}

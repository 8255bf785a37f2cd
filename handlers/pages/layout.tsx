import type { Child } from "hono/jsx";
import { SCRIPT } from "./script.ts";
import { STYLE } from "./style.ts";

// The frame of every review page: a phone viewport, the inlined stylesheet and script, the tabs between
// the queue pages (shown with a key that opens them), and a fixed bar for a task's verdict buttons.

export type TabName = "review" | "queue" | "trust";

export interface Tabs {
  current: TabName | null;
  href: (tab: TabName) => string;
  /** How many tasks wait for review, shown on its tab. */
  inReview?: number;
}

const TAB_LABELS: Record<TabName, string> = { review: "Review", queue: "Queue", trust: "Trust" };

export function Layout(props: { title: string; tabs?: Tabs | null; bar?: Child; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1, viewport-fit=cover" />
        <meta name="color-scheme" content="light dark" />
        <meta name="referrer" content="no-referrer" />
        <title>{props.title}</title>
        <style dangerouslySetInnerHTML={{ __html: STYLE }} />
      </head>
      <body>
        <main>
          {props.tabs ? <TabBar tabs={props.tabs} /> : null}
          {props.children}
        </main>
        {props.bar ?? null}
        <script dangerouslySetInnerHTML={{ __html: SCRIPT }} />
      </body>
    </html>
  );
}

function TabBar({ tabs }: { tabs: Tabs }) {
  return (
    <nav class="tabs">
      {(Object.keys(TAB_LABELS) as TabName[]).map((tab) => (
        <a href={tabs.href(tab)} aria-current={tabs.current === tab ? "page" : undefined}>
          {TAB_LABELS[tab]}
          {tab === "review" && tabs.inReview !== undefined ? ` (${tabs.inReview})` : ""}
        </a>
      ))}
    </nav>
  );
}

/** A page as a document: hono renders the element, the doctype goes first. */
export async function documentOf(page: Child): Promise<string> {
  return `<!doctype html>${await (page as { toString(): string | Promise<string> }).toString()}`;
}

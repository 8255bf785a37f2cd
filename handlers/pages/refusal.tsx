import type { CosError } from "../../src/shared/errors.ts";
import { Layout } from "./layout.tsx";

// What a page says instead of itself: why (a link expired, changed, or for another page; a form from
// elsewhere; a task that does not exist), and how to get a fresh link. Opened inside Telegram, it trades
// Telegram's signed data for a fresh link by itself (the script submits the hidden form).

const TITLES: Partial<Record<CosError["code"], string>> = {
  unauthorized: "This page needs a fresh link",
  forbidden: "This link does not open this page",
  not_found: "Not found",
  validation: "That did not work",
};

export function RefusalView(props: { error: CosError; telegram: { action: string; next: string } | null }) {
  const { error } = props;
  const linkProblem = error.code === "unauthorized" || error.code === "forbidden";
  return (
    <Layout title={TITLES[error.code] ?? "Something went wrong"}>
      <h1>{TITLES[error.code] ?? "Something went wrong"}</h1>
      <p class="banner bad">{capitalise(error.message)}.</p>
      {linkProblem ? (
        <>
          <p>
            To get a fresh link, send <code>/review</code> to the bot in Telegram (in Slack: <code>/cos review</code>). Every card it sends
            carries a link to its task's page, and the reply a link to the review queue; links last 7 days.
          </p>
          {props.telegram ? (
            <form id="tg-auth" method="post" action={props.telegram.action}>
              <input type="hidden" name="initData" value="" />
              <input type="hidden" name="next" value={props.telegram.next} />
              <p class="meta">Opened inside Telegram, this page signs you in by itself.</p>
            </form>
          ) : null}
        </>
      ) : null}
    </Layout>
  );
}

const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1).replace(/\.$/, "");

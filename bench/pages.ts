import { gzipSync } from "node:zlib";
import { createHttpApp } from "../handlers/http/app.ts";
import { gitWorkspace } from "../runner/workspace/port.ts";
import { openApp } from "../src/app/open.ts";
import { parseEnv } from "../src/config/env.ts";
import { signKey } from "../src/pages/links.ts";
import { movableClock, tempWorkspace } from "../tests/helpers.ts";
import { PAGES_CONFIG, codeTaskInReview, decidedContentTask, FORTY_VERDICTS } from "../tests/integration/pages-kit.ts";
import { median, round, type BenchGroup, type Metric } from "./lib.ts";

const WARMUP = 5;
const RUNS = 30;

/** A 500-line change as an agent leaves one: code, styles, docs and config, each highlighted in its language. */
function fiveHundredLines(): Record<string, string> {
  const lines = (n: number, line: (i: number) => string) => `${Array.from({ length: n }, (_, i) => line(i)).join("\n")}\n`;
  return {
    "src/blog/render.ts": lines(250, (i) => `export function render${i}(post: Post): string { return \`<article id="p${i}">\${escape(post.body)}</article>\`; } // ${i}`),
    "src/blog/style.css": lines(100, (i) => `.post-${i} { margin: ${i % 8}px auto; color: #${(i * 2654435761).toString(16).slice(-6)}; }`),
    "content/guide.md": lines(100, (i) => (i % 10 === 0 ? `## Part ${i / 10}` : `Line ${i} of the guide, with **bold** words and a [link](https://example.org/${i}).`)),
    "config/site.json": lines(50, (i) => `  "key${i}": { "enabled": ${i % 2 === 0}, "weight": ${i} },`),
  };
}

/**
 * The review pages in-process (hono's app.request, as `cos serve` routes them) on a real store and git
 * repository: a task page with a 500-line diff (its HTML, as sent gzipped, beside the raw patch), and the
 * server time of that page, of a review queue of 20 and of a trust page over 40 verdicts, each after a
 * warm-up, median and 95th percentile of 30 requests.
 */
export const pagesGroup: BenchGroup = {
  description: "Review pages: a 500-line diff's task page (gzipped size beside the raw patch) and server times of the pages",
  async run(ctx) {
    const ws = tempWorkspace(PAGES_CONFIG);
    const clock = movableClock("2026-11-23T22:00:00.000Z");
    const app = await openApp({ env: parseEnv({ ...ws.env, COS_PUBLIC_URL: "https://cos.example.test" }), cwd: ws.dir, clock: clock.now, workspace: gitWorkspace });
    try {
      const http = createHttpApp(app);
      const id = await codeTaskInReview({ ctx: app, ws, clock }, fiveHundredLines(), { title: "A 500-line change" });
      for (let i = 0; i < 19; i++) await codeTaskInReview({ ctx: app, ws, clock }, { [`notes/${i}.md`]: `# Note ${i}\n` }, { title: `Note ${i}`, agent: i % 2 ? "writer" : "scout" });
      for (const verdict of FORTY_VERDICTS) await decidedContentTask(app, "writer", verdict);
      const queueKey = signKey(app, { kind: "queue" });
      const taskPath = `/pages/task/${id}?k=${signKey(app, { kind: "task", taskId: id })}`;

      const patch = await (await http.request(`/pages/task/${id}/patch?k=${queueKey}`)).text();
      const html = await (await http.request(taskPath)).text();
      const sent = await http.request(taskPath, { headers: { "accept-encoding": "gzip" } });
      const gzipped = (await sent.arrayBuffer()).byteLength;
      const patchKb = Buffer.byteLength(patch) / 1024;
      ctx.log(`raw patch ${patchKb.toFixed(1)} KB (gzip ${(gzipSync(patch).length / 1024).toFixed(1)} KB); page ${(Buffer.byteLength(html) / 1024).toFixed(1)} KB, sent gzipped ${(gzipped / 1024).toFixed(1)} KB`);

      // Wall time is what a phone waits; on a busy machine it is mostly waiting for a core, so the CPU time
      // this process spent per request (git's own process not counted) is given beside it.
      const time = async (name: string, path: string) => {
        const times: number[] = [];
        const cpu: number[] = [];
        for (let i = 0; i < WARMUP + RUNS; i++) {
          const started = performance.now();
          const cpuAtStart = process.cpuUsage();
          const res = await http.request(path);
          await res.arrayBuffer();
          if (res.status !== 200) throw new Error(`${path} answered ${res.status}`);
          const used = process.cpuUsage(cpuAtStart);
          if (i >= WARMUP) {
            times.push(performance.now() - started);
            cpu.push((used.user + used.system) / 1000);
          }
        }
        times.sort((a, b) => a - b);
        const p95 = times[Math.ceil(times.length * 0.95) - 1]!;
        ctx.log(`${name}: median ${median(times).toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, CPU ${median(cpu).toFixed(1)} ms`);
        return { p50: round(median(times), 1), p95: round(p95, 1), cpu: round(median(cpu), 1) };
      };
      const task = await time("task page, 500-line diff", taskPath);
      const review = await time("review queue of 20", `/pages/review?k=${queueKey}`);
      const trust = await time("trust, 40 verdicts", `/pages/trust?k=${queueKey}`);
      const note = `raw patch ${patchKb.toFixed(1)} KB`;
      const metrics: Metric[] = [
        { name: "pages.task_500_lines_patch_kb", value: round(patchKb, 1), unit: "KB", note: "the raw diff, for comparison" },
        { name: "pages.task_500_lines_html_kb", value: round(Buffer.byteLength(html) / 1024, 1), unit: "KB", note },
        { name: "pages.task_500_lines_sent_kb", value: round(gzipped / 1024, 1), unit: "KB", target: { max: 300 }, note: `gzipped; ${note}` },
        { name: "pages.task_500_lines_p50_ms", value: task.p50, unit: "ms", target: { max: 100 }, note: "server time, warm" },
        { name: "pages.task_500_lines_p95_ms", value: task.p95, unit: "ms", target: { max: 100 } },
        { name: "pages.task_500_lines_cpu_ms", value: task.cpu, unit: "ms", note: "CPU of this process per request, median" },
        { name: "pages.review_queue_20_p50_ms", value: review.p50, unit: "ms", target: { max: 100 } },
        { name: "pages.trust_40_verdicts_p50_ms", value: trust.p50, unit: "ms", target: { max: 100 } },
      ];
      return metrics;
    } finally {
      await app.db.close();
      ws.cleanup();
    }
  },
};

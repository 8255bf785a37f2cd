import { createHash } from "node:crypto";

// The review pages' one stylesheet, inlined in each page (one request per page, nothing to cache-bust).
// Phone first: 390 px wide, the page itself never scrolls sideways (long words wrap; a diff or a log
// scrolls inside its own box), tap targets at least 44 px high, and dark mode from the system setting.
// Highlighting colours follow highlight.js's class names.

export const STYLE = `
:root{color-scheme:light dark;--bg:#fff;--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa;--add:#e6ffec;--addn:#ccffd8;--del:#ffebe9;--deln:#ffd7d5;--link:#0969da;--ok:#1a7f37;--warn:#9a6700;--bad:#cf222e;--kw:#cf222e;--str:#0a3069;--com:#59636e;--num:#0550ae;--fn:#8250df;--tag:#116329;--okbtn:#1a7f37;--badbtn:#cf222e}
@media (prefers-color-scheme:dark){:root{--bg:#0d1117;--fg:#e6edf3;--muted:#9198a1;--line:#3d444d;--soft:#151b23;--add:#12261e;--addn:#1b4721;--del:#25171c;--deln:#542426;--link:#4493f8;--ok:#3fb950;--warn:#d29922;--bad:#f85149;--kw:#ff7b72;--str:#a5d6ff;--com:#9198a1;--num:#79c0ff;--fn:#d2a8ff;--tag:#7ee787;--okbtn:#238636;--badbtn:#da3633}}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;overflow-wrap:anywhere}
main{max-width:860px;margin:0 auto;padding:12px 12px 112px}
a{color:var(--link)}
a,button{-webkit-tap-highlight-color:transparent}
h1{font-size:1.25rem;line-height:1.3;margin:.3em 0}
h2{font-size:1.05rem;margin:1.4em 0 .5em}
p{margin:.5em 0}
.muted,.meta{color:var(--muted)}
.meta{font-size:.9rem;margin:.2em 0}
.banner{border-radius:8px;padding:10px 12px;margin:8px 0;background:var(--soft);border:1px solid var(--line)}
.banner.verdict{white-space:pre-line}
.banner.ok{border-color:var(--ok)}.banner.bad{border-color:var(--bad)}.banner.warn{border-color:var(--warn)}
nav.tabs{display:flex;gap:6px;margin:2px 0 8px;padding:2px;overflow-x:auto}
nav.tabs a{flex:1;text-align:center;padding:11px 6px;min-height:44px;border-radius:8px;text-decoration:none;color:var(--fg);background:var(--soft);white-space:nowrap}
nav.tabs a[aria-current]{font-weight:600;outline:2px solid var(--link)}
pre,code,.code{font:13px/1.55 ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
pre{margin:0}
.text{white-space:pre-wrap;background:var(--soft);padding:10px 12px;border-radius:8px}
.scroll{overflow-x:auto;background:var(--soft);padding:10px 12px;border-radius:8px;max-height:70vh}
details{border:1px solid var(--line);border-radius:8px;margin:8px 0}
summary{padding:10px 12px;min-height:44px;cursor:pointer;list-style:none;display:flex;gap:8px;align-items:center}
summary::-webkit-details-marker{display:none}
summary::before{content:"▸";color:var(--muted);width:1ch}
details[open]>summary::before{content:"▾"}
details>.body{padding:0 12px 12px}
ul.list,ol.files{list-style:none;padding:0;margin:0}
ul.list>li{border:1px solid var(--line);border-radius:8px;margin:8px 0;padding:0}
ul.list>li>a{display:block;padding:12px;min-height:44px;color:inherit;text-decoration:none}
ul.list .title{font-weight:600;color:var(--link)}
ol.files li a{display:flex;gap:8px;align-items:center;padding:10px 4px;min-height:44px;border-bottom:1px solid var(--line);text-decoration:none;color:inherit}
ol.files .path{flex:1;font:13px/1.4 ui-monospace,Menlo,monospace}
.plus{color:var(--ok)}.minus{color:var(--bad)}
.file>summary{font:13px/1.4 ui-monospace,Menlo,monospace}
.file>summary .path{flex:1}
.code{overflow-x:auto;border-top:1px solid var(--line)}
.lines{min-width:100%;width:max-content}
.lines p{margin:0;white-space:pre;padding-right:12px;min-height:1.55em}
.lines i{font-style:normal;display:inline-block;position:sticky;left:0;width:5.5ch;padding-right:.6ch;margin-right:.6ch;text-align:right;color:var(--muted);background:var(--bg);user-select:none;-webkit-user-select:none}
.lines .a{background:var(--add)}.lines .a i{background:var(--addn)}
.lines .d{background:var(--del)}.lines .d i{background:var(--deln)}
.lines .h{color:var(--muted);background:var(--soft);padding:2px 8px}
.lines i::after{content:" "}.lines .a i::after{content:"+"}.lines .d i::after{content:"−"}
.lines .noted i{box-shadow:inset 4px 0 var(--warn)}
.tap .lines p:not(.h){cursor:pointer}
.hljs-keyword,.hljs-selector-tag,.hljs-meta .hljs-keyword,.hljs-doctag,.hljs-template-tag,.hljs-type{color:var(--kw)}
.hljs-string,.hljs-regexp,.hljs-meta .hljs-string,.hljs-char.escape_{color:var(--str)}
.hljs-comment,.hljs-code,.hljs-formula,.hljs-quote{color:var(--com);font-style:italic}
.hljs-number,.hljs-literal,.hljs-variable,.hljs-template-variable,.hljs-attr,.hljs-attribute,.hljs-operator,.hljs-selector-attr,.hljs-selector-class,.hljs-selector-id,.hljs-built_in,.hljs-symbol,.hljs-property{color:var(--num)}
.hljs-title,.hljs-title.class_,.hljs-title.function_,.hljs-section{color:var(--fn)}
.hljs-name,.hljs-selector-pseudo,.hljs-bullet,.hljs-addition{color:var(--tag)}
.hljs-deletion{color:var(--bad)}
.hljs-emphasis{font-style:italic}.hljs-strong{font-weight:600}
.timeline{list-style:none;padding:0;margin:0}
.timeline li{padding:8px 0;border-bottom:1px solid var(--line)}
button,.btn{font:inherit;font-weight:600;white-space:nowrap;overflow-wrap:normal;min-height:48px;padding:10px 14px;border-radius:10px;border:1px solid var(--line);background:var(--soft);color:var(--fg);cursor:pointer;text-decoration:none;display:inline-flex;align-items:center;justify-content:center;gap:6px}
button.primary{background:var(--okbtn);border-color:var(--okbtn);color:#fff}
button.send{border:2px solid var(--warn)}
button.danger{background:var(--badbtn);border-color:var(--badbtn);color:#fff}
.bar{position:fixed;left:0;right:0;bottom:0;z-index:2;display:flex;gap:8px;padding:8px 12px calc(8px + env(safe-area-inset-bottom));background:var(--bg);border-top:1px solid var(--line)}
.bar>*{flex:1;min-width:0}.bar button,.bar .btn{padding:10px 6px;font-size:15px}
.bar form{display:flex}.bar form button{flex:1}
textarea{width:100%;min-height:7.5em;font:16px/1.4 ui-monospace,Menlo,monospace;padding:10px;border-radius:8px;border:1px solid var(--line);background:var(--bg);color:var(--fg);resize:vertical}
.actions{display:flex;gap:8px;margin-top:8px;flex-wrap:wrap}.actions>*{flex:1}
#sendback:not(.drawer) [data-close]{display:none}
#sendback.drawer{position:fixed;left:0;right:0;bottom:0;z-index:3;margin:0;background:var(--bg);border-top:2px solid var(--warn);padding:8px 12px calc(8px + env(safe-area-inset-bottom));box-shadow:0 -6px 18px #0004}
#sendback.drawer h2{margin:.2em 0 .4em}
#sendback.drawer textarea{min-height:5.5em;max-height:35vh}
svg.chart{width:100%;height:auto;display:block;background:var(--soft);border-radius:8px}
.chart text{font:10px system-ui,sans-serif;fill:var(--muted)}
.chart .grid{stroke:var(--line);stroke-width:1}
.chart .approval{fill:none;stroke:var(--ok);stroke-width:2}
.chart .sendback{fill:none;stroke:var(--bad);stroke-width:2}
.chart .limit{stroke-dasharray:4 3;stroke-width:1}
.chart .limit.approval{stroke:var(--ok)}.chart .limit.sendback{stroke:var(--bad)}
.chart .mark{stroke:var(--fg);stroke-width:1.5}
.chart .mark.override{stroke:var(--warn);stroke-dasharray:3 2}
.chart .marklabel{fill:var(--fg);font-weight:600}
.chart .v-approved{fill:var(--ok)}.chart .v-sent_back{fill:var(--bad)}.chart .v-discarded{fill:var(--muted)}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:.85rem;color:var(--muted);margin:6px 0}
.legend b{display:inline-block;width:14px;height:3px;vertical-align:middle;margin-right:4px}
.legend .sw-ok{background:var(--ok)}.legend .sw-bad{background:var(--bad)}
.chip{display:inline-block;font-size:.8rem;padding:1px 8px;border-radius:99px;border:1px solid var(--line);background:var(--soft);white-space:nowrap}
`;

/** The stylesheet's hash for the Content-Security-Policy: the only style a page may apply. */
export const STYLE_HASH = `sha256-${createHash("sha256").update(STYLE).digest("base64")}`;

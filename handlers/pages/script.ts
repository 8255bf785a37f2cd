import { createHash } from "node:crypto";

// The review pages' only script, inlined, and none of it needed: without it every form still posts and
// every link still opens. With it: a tapped diff line adds `path:line: ` to the send-back notes (opened
// as a drawer over the diff, so reading goes on where it was); inside Telegram, the signed initData of
// the launch is kept for the session and sent with each verdict (and traded for a fresh link on a page
// that refused an expired or missing one); a form is not sent twice.

export const SCRIPT = `(function(){
var d=document,q=function(s){return d.querySelector(s)},init="";
try{init=new URLSearchParams(location.hash.slice(1)).get("tgWebAppData")||"";if(init)sessionStorage.setItem("cos-tg",init);else init=sessionStorage.getItem("cos-tg")||""}catch(e){}
if(init){
d.querySelectorAll("input[name=initData]").forEach(function(i){i.value=init});
["web_app_ready","web_app_expand"].forEach(function(ev){try{var p=window.TelegramWebviewProxy;if(p)p.postEvent(ev,"");else if(window.parent!==window)window.parent.postMessage(JSON.stringify({eventType:ev,eventData:""}),"*")}catch(e){}});
var auth=q("#tg-auth");if(auth){auth.initData.value=init;auth.submit()}
}
var box=q("#sendback"),notes=q("#notes");
if(notes)d.body.classList.add("tap");
function drawer(){box.classList.add("drawer");notes.focus();var n=notes.value.length;notes.setSelectionRange(n,n)}
d.addEventListener("click",function(e){
var t=e.target;if(!notes||!t.closest)return;
if(t.closest('a[href="#sendback"]')){e.preventDefault();drawer();return}
if(t.closest("[data-close]")){box.classList.remove("drawer");return}
var line=t.closest(".lines p:not(.h)");if(!line)return;
var s=window.getSelection&&String(window.getSelection());if(s)return;
var tag=line.closest("[data-path]").getAttribute("data-path")+":"+line.querySelector("i").textContent+(line.classList.contains("d")?" (deleted line)":"")+": ";
notes.value+=(notes.value&&!/\\n$/.test(notes.value)?"\\n":"")+tag;
line.classList.add("noted");drawer();
});
d.addEventListener("submit",function(e){var b=e.target.querySelector("button:not([type=button])");if(e.target.dataset.sent){e.preventDefault();return}e.target.dataset.sent="1";if(b)setTimeout(function(){b.disabled=true},0)});
})();`;

/** The script's hash for the Content-Security-Policy: it is the only script a page may run. */
export const SCRIPT_HASH = `sha256-${createHash("sha256").update(SCRIPT).digest("base64")}`;

// The console works without this script; it makes the task list live,
// streams a task's log and progress (Server-Sent Events), and copies the
// policy.
"use strict";

function liveTaskList() {
  const table = document.querySelector("table[data-live]");
  if (!table) return;
  setInterval(async () => {
    try {
      const res = await fetch(location.href, { headers: { Accept: "text/html" } });
      if (!res.ok) return;
      const doc = new DOMParser().parseFromString(await res.text(), "text/html");
      const rows = doc.getElementById("task-rows");
      if (rows) document.getElementById("task-rows").replaceWith(rows);
    } catch (e) { /* the next tick tries again */ }
  }, 2000);
}

function bytes(n) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i === 0 ? n : n.toFixed(1)) + " " + units[i];
}

function followTask() {
  const task = document.getElementById("task");
  if (!task || task.dataset.final === "true" || !window.EventSource) return;
  const log = document.getElementById("log");
  // Lines already on the page are not sent again.
  const es = new EventSource(task.dataset.events);
  let seen = log.children.length;
  es.addEventListener("log", (ev) => {
    if (Number(ev.lastEventId) <= seen) return;
    seen = Number(ev.lastEventId);
    const l = JSON.parse(ev.data);
    const li = document.createElement("li");
    const time = document.createElement("time");
    time.textContent = l.time.replace("T", " ").replace(/\..*|Z$/, "");
    const level = document.createElement("span");
    level.className = "level";
    level.textContent = l.level;
    li.append(time, " ", level, " " + l.message);
    log.append(li);
    log.scrollTop = log.scrollHeight;
  });
  const show = (ev) => {
    const t = JSON.parse(ev.data);
    document.getElementById("lifecycle").textContent = t.lifecycle;
    document.getElementById("progress").value = t.percent_complete;
    document.getElementById("percent").textContent = t.percent_complete;
    document.getElementById("bytes").textContent = bytes(t.bytes_processed);
    document.getElementById("rows").textContent = t.rows_processed;
    document.getElementById("files").textContent = t.files_processed;
    document.getElementById("info").textContent = t.task_info;
    return t;
  };
  es.addEventListener("task", show);
  es.addEventListener("end", (ev) => {
    show(ev);
    es.close();
    const cancel = document.getElementById("cancel");
    if (cancel) cancel.remove();
  });
}

function copyButtons() {
  for (const b of document.querySelectorAll("button[data-copy]")) {
    b.addEventListener("click", async () => {
      const text = document.getElementById(b.dataset.copy).textContent;
      try { await navigator.clipboard.writeText(text); b.textContent = "Copied"; } catch (e) { b.textContent = "Select and copy"; }
    });
  }
}

document.addEventListener("DOMContentLoaded", () => { liveTaskList(); followTask(); copyButtons(); });

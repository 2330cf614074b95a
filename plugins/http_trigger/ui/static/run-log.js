// One execution's log: the run's state and origin, then each task (the action, then the
// post-processing steps) with its state and its Airflow task log inline, after a summary of the
// post-processing steps' results with their errors. While the run is not
// finished the page refreshes itself every few seconds.

import {
  airflowLink, api, config, el, every, fetchJson, FINISHED, formatDate, formatDuration, openInAirflow, setContent,
  runBadge, showError, sourceLabel, stateBadge,
} from "./common.js";

const $ = (id) => document.getElementById(id);
const runPath = `/jobs/${config.jobId}/runs/${encodeURIComponent(config.runId)}`;
const logs = new Map(); // task id -> {key, lines} of the last log read
let finished = false;
let dagId = "";
let stop = null;

const KNOWN_KEYS = new Set(["timestamp", "event", "level", "logger", "chan", "filename", "lineno", "error_detail"]);
// The same on every line of a task's log, and shown in the page's header already.
const CONTEXT_KEYS = new Set(["dag_id", "task_id", "run_id", "map_index", "try_number", "ti_id"]);
const GROUP_START = "::group::";
const GROUP_END = "::endgroup::";
// Airflow's own log viewer folds this group away: it only lists the files the log was read from.
const SOURCES_GROUP = "::group::Log message source details";

/** Drop Airflow's group markers and the log-sources group, as Airflow's own log view does. */
function readable(entries) {
  const kept = [];
  let inSources = false;
  for (const entry of entries) {
    const event = typeof entry === "string" ? entry : String(entry.event || "");
    if (event.startsWith(SOURCES_GROUP)) inSources = true;
    else if (event.startsWith(GROUP_END)) inSources = false;
    else if (!inSources && !event.startsWith(GROUP_START)) kept.push(entry);
  }
  return kept;
}

function formatEntry(entry) {
  if (typeof entry === "string") return [el("span", {}, entry)];
  const level = String(entry.level || "info").toLowerCase();
  const extras = Object.entries(entry)
    .filter(([key]) => !KNOWN_KEYS.has(key) && !CONTEXT_KEYS.has(key))
    .map(([key, value]) => ` ${key}=${typeof value === "string" ? value : JSON.stringify(value)}`)
    .join("");
  const parts = [];
  if (entry.timestamp) parts.push(el("span", { class: "ts" }, `[${formatDate(entry.timestamp)}] `));
  parts.push(el("span", { class: `lvl-${level}` }, `${level.toUpperCase()} - `));
  if (entry.logger) parts.push(el("span", { class: "ts" }, `${entry.logger} - `));
  parts.push(el("span", { class: `lvl-${level}` }, `${entry.event}${extras}`));
  if (Array.isArray(entry.error_detail)) {
    for (const detail of entry.error_detail) {
      parts.push("\n", el("span", { class: "lvl-error" }, `${detail.exc_type || "Error"}: ${detail.exc_value || ""}`));
      for (const frame of detail.frames || []) parts.push("\n", `  File "${frame.filename}", line ${frame.lineno}, in ${frame.name}`);
    }
  }
  return parts;
}

async function readLog(task) {
  const separator = task.log_url.includes("?") ? "&" : "?";
  const data = await fetchJson(`${task.log_url}${separator}full_content=true`);
  return readable(data.content || []).flatMap((entry, index) => (index ? ["\n", ...formatEntry(entry)] : formatEntry(entry)));
}

function taskCard(task) {
  const pre = el("pre", { class: "log", "aria-label": `Log of ${task.task_id}`, "data-task-log": task.task_id });
  const gridTask = `${config.airflowRoot}/dags/${encodeURIComponent(dagId)}/runs/${encodeURIComponent(config.runId)}/tasks/${encodeURIComponent(task.task_id)}`;
  const card = el(
    "section",
    { class: "card task", "data-task-id": task.task_id, "data-state": task.state || "none" },
    el(
      "header",
      {},
      el("h2", {}, task.task_id === "action" ? "Action" : task.task_id),
      stateBadge(task.state),
      el(
        "span",
        { class: "meta" },
        [task.operator, task.try_number > 1 ? `try ${task.try_number}` : null, task.duration_seconds !== null ? formatDuration(task.duration_seconds) : null]
          .filter(Boolean)
          .join(" · "),
      ),
      el("span", { class: "meta" }, airflowLink(gridTask, "in Airflow")),
    ),
    pre,
  );
  const cached = logs.get(task.task_id);
  if (cached) setContent(pre, cached.lines);
  else setContent(pre, task.log_url ? "Loading the log…" : "Not started yet: no log.");
  return card;
}

async function refreshLog(task, card) {
  if (!task.log_url) return;
  const key = `${task.try_number}|${task.state}`;
  const cached = logs.get(task.task_id);
  // A finished task's log does not change; a running one is read again on every refresh.
  if (cached && cached.key === key && FINISHED.has(task.state)) return;
  try {
    const lines = await readLog(task);
    logs.set(task.task_id, { key, lines });
    const pre = card.querySelector("pre.log");
    const atBottom = pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    setContent(pre, lines.length ? lines : "The log is empty.");
    if (atBottom) pre.scrollTop = pre.scrollHeight;
  } catch (error) {
    setContent(card.querySelector("pre.log"), `The log could not be read: ${error.message}`);
  }
}

function renderRun(run) {
  const badge = $("run-state");
  badge.replaceWith(Object.assign(runBadge(run), { id: "run-state" }));
  const rows = [
    ["Run id", el("span", { class: "mono" }, run.dag_run_id)],
    ["Started by", run.trigger_source === "http" ? `HTTP from ${run.caller_address || "unknown address"}` : [sourceLabel(run.trigger_source), run.triggering_user ? ` (${run.triggering_user})` : ""]],
    ["Queued", formatDate(run.queued_at)],
    ["Start", formatDate(run.start_date)],
    ["End", formatDate(run.end_date)],
    ["Duration", formatDuration(run.duration_seconds)],
  ];
  setContent($("run-props"), rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  const grid = $("grid-link");
  grid.href = run.grid_url;
  renderSteps(run.post_processing);
}

function renderSteps(steps) {
  $("steps-card").hidden = !steps.length;
  setContent(
    $("steps"),
    steps.map((step) =>
      el(
        "tr",
        { "data-step": step.task_id },
        el("td", {}, `${step.when === "on_success" ? "On success" : "On failure"} ${step.index}: ${step.type}`),
        el("td", {}, stateBadge(step.state)),
        el("td", { class: "mono" }, step.error || "–"),
      ),
    ),
  );
}

async function load() {
  let run;
  try {
    run = await api(runPath);
  } catch (error) {
    if (error.status === 404) setContent($("tasks"), el("p", { class: "empty" }, "This execution does not exist."));
    else showError(error, "The execution could not be loaded: ");
    return;
  }
  dagId = run.dag_id;
  renderRun(run);
  const cards = run.tasks.map(taskCard);
  setContent($("tasks"), cards.length ? cards : el("p", { class: "empty" }, "The run has no task yet."));
  await Promise.all(run.tasks.map((task, index) => refreshLog(task, cards[index])));
  finished = FINISHED.has(run.state) && run.tasks.every((task) => FINISHED.has(task.state) || !task.state);
  $("live").hidden = finished;
  if (finished && stop) {
    stop();
    stop = null;
  }
}

$("grid-link").addEventListener("click", (event) => {
  event.preventDefault();
  openInAirflow($("grid-link").href);
});

api(`/jobs/${config.jobId}`)
  .then((job) => setContent($("crumb-job"), job.name))
  .catch(() => {}); // a deleted job's runs stay readable; the crumb then keeps its id

load().then(() => {
  if (!finished) stop = every(3, load);
});

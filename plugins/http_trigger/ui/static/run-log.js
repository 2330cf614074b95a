// One execution's log. It opens on what went wrong, if anything: the failed action's error on one
// line (a failed post-processing step's, as a warning, when the action succeeded), with the full
// error and the task's log one click away. Then the run's origin, the parameters it received, the
// post-processing steps' results, and each task with its Airflow task log. While the run is not
// finished the page refreshes itself every few seconds.

import {
  airflowLink, api, callerLabel, config, el, every, fetchJson, FINISHED, formatDate, formatDuration, openInAirflow,
  setContent, runBadge, showError, sourceLabel, stateBadge,
} from "./common.js";
import { t } from "./i18n.js";

const $ = (id) => document.getElementById(id);
const runPath = `/jobs/${config.jobId}/runs/${encodeURIComponent(config.runId)}`;
const logs = new Map(); // task id -> {key, entries, lines} of the last log read
const openLogs = new Set(); // task ids whose log the user opened or closed differs from the default
let finished = false;
let stop = null;

const KNOWN_KEYS = new Set(["timestamp", "event", "level", "logger", "chan", "filename", "lineno", "error_detail"]);
// The same on every line of a task's log, and shown in the page's header already.
const CONTEXT_KEYS = new Set(["dag_id", "task_id", "run_id", "map_index", "try_number", "ti_id"]);
const GROUP_START = "::group::";
const GROUP_END = "::endgroup::";
// Airflow's own log viewer folds this group away: it only lists the files the log was read from.
const SOURCES_GROUP = "::group::Log message source details";
// Lines Airflow writes around any failure: they say that a task failed, not why.
const GENERIC_EVENTS = [/^task failed with exception$/i, /^process exited abnormally/i, /^task instance is in failed state/i];

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

function errorDetail(detail) {
  const parts = [el("span", { class: "lvl-error" }, `${detail.exc_type || t("step.error")}: ${detail.exc_value || ""}`)];
  for (const frame of detail.frames || []) parts.push("\n", `  File "${frame.filename}", line ${frame.lineno}, in ${frame.name}`);
  return parts;
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
    for (const detail of entry.error_detail) parts.push("\n", ...errorDetail(detail));
  }
  return parts;
}

function formatEntries(entries) {
  return entries.flatMap((entry, index) => (index ? ["\n", ...formatEntry(entry)] : formatEntry(entry)));
}

const levelOf = (entry) => (typeof entry === "string" ? "" : String(entry.level || "").toLowerCase());
const isError = (entry) => levelOf(entry) === "error" || levelOf(entry) === "critical";

/** The traceback of a failed task: its error lines with their exceptions, as its log holds them. */
function traceback(entries) {
  return entries.filter((entry) => isError(entry) || (typeof entry !== "string" && Array.isArray(entry.error_detail)));
}

/** The last line of a log that says why a task failed: an exception's message, else an error line. */
function reasonFromLog(entries) {
  for (const entry of [...entries].reverse()) {
    if (typeof entry === "string" || !Array.isArray(entry.error_detail)) continue;
    for (const detail of [...entry.error_detail].reverse()) {
      const value = String(detail.exc_value || "").trim();
      if (value) return value;
    }
  }
  for (const entry of [...entries].reverse()) {
    const event = String(typeof entry === "string" ? entry : entry.event || "").trim();
    if (isError(entry) && event && !GENERIC_EVENTS.some((pattern) => pattern.test(event))) return event;
  }
  return null;
}

const oneLine = (text) => text.split(/\s+/).filter(Boolean).join(" ");
// "AirflowException: The webhook answered 500": the type tells an operator nothing the message does not.
const withoutType = (error) => error.replace(/^[A-Za-z_][\w.]*:\s*(?=\S)/, "");

async function readLog(task) {
  const separator = task.log_url.includes("?") ? "&" : "?";
  const data = await fetchJson(`${task.log_url}${separator}full_content=true`);
  return readable(data.content || []);
}

function stepLabel(step) {
  return t(step.when === "on_success" ? "step.on_success" : "step.on_failure", { index: step.index, type: step.type });
}

function taskTitle(run, taskId) {
  if (taskId === "action") return t("job.action");
  const step = run.post_processing.find((item) => item.task_id === taskId);
  return step ? stepLabel(step) : taskId;
}

function logOpen(run, task) {
  // With a failure shown above, the logs wait for a click; otherwise they are open.
  const byDefault = !run.failure;
  return openLogs.has(task.task_id) ? !byDefault : byDefault;
}

function taskCard(run, task) {
  const pre = el("pre", { class: "log", "aria-label": t("task.log_of", { task: task.task_id }), "data-task-log": task.task_id });
  const details = el("details", { class: "task-log", open: logOpen(run, task) }, el("summary", {}, t("task.log")), pre);
  details.addEventListener("toggle", () => {
    if (details.open === !run.failure) openLogs.delete(task.task_id);
    else openLogs.add(task.task_id);
  });
  const card = el(
    "section",
    { class: "card task", "data-task-id": task.task_id, "data-state": task.state || "none" },
    el(
      "header",
      {},
      el("h2", {}, taskTitle(run, task.task_id)),
      stateBadge(task.state),
      el(
        "span",
        { class: "meta" },
        [task.operator, task.try_number > 1 ? t("task.try", { number: task.try_number }) : null, task.duration_seconds !== null ? formatDuration(task.duration_seconds) : null]
          .filter(Boolean)
          .join(" · "),
      ),
      el("span", { class: "meta" }, airflowLink(task.airflow_url, t("task.log_in_airflow"))),
    ),
    details,
  );
  const cached = logs.get(task.task_id);
  if (cached) setContent(pre, cached.lines.length ? cached.lines : t("task.log_empty"));
  else setContent(pre, task.log_url ? t("task.log_loading") : t("task.not_started"));
  return card;
}

async function refreshLog(task, card) {
  if (!task.log_url) return;
  const key = `${task.try_number}|${task.state}`;
  const cached = logs.get(task.task_id);
  // A finished task's log does not change; a running one is read again on every refresh.
  if (cached && cached.key === key && FINISHED.has(task.state)) return;
  const pre = card.querySelector("pre.log");
  try {
    const entries = await readLog(task);
    const lines = formatEntries(entries);
    logs.set(task.task_id, { key, entries, lines });
    // A running task's log follows its end while the reader is there; a finished one opens at its top.
    const following = !FINISHED.has(task.state) && pre.scrollHeight - pre.scrollTop - pre.clientHeight < 24;
    setContent(pre, lines.length ? lines : t("task.log_empty"));
    if (following) pre.scrollTop = pre.scrollHeight;
  } catch (error) {
    const unread = t("task.log_unread", { error: error.message });
    logs.set(task.task_id, { key, entries: null, lines: [unread], error });
    setContent(pre, unread);
  }
}

function renderRun(run) {
  const badge = $("run-state");
  badge.replaceWith(Object.assign(runBadge(run), { id: "run-state" }));
  const rows = [
    [t("run.id"), el("span", { class: "mono" }, run.dag_run_id)],
    [t("run.source"), sourceLabel(run.trigger_source)],
    [t("run.caller"), el("span", { id: "run-caller" }, callerLabel(run))],
    [t("run.queued"), formatDate(run.queued_at)],
    [t("run.start"), formatDate(run.start_date)],
    [t("run.end"), formatDate(run.end_date)],
    [t("run.duration"), formatDuration(run.duration_seconds)],
    [t("run.in_airflow"), [airflowLink(run.dag_url, "DAG"), " · ", airflowLink(run.grid_url, t("run.grid"))]],
  ];
  setContent($("run-props"), rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
  $("grid-link").href = run.grid_url;
  renderParameters(run.parameters);
  renderSteps(run.post_processing);
}

function parameterValue(value) {
  if (typeof value === "string") return value;
  if (Array.isArray(value) && value.every((item) => typeof item !== "object" || item === null)) {
    return value.length ? value.map(String).join(", ") : t("common.none");
  }
  return el("code", {}, JSON.stringify(value));
}

function renderParameters(parameters) {
  const entries = Object.entries(parameters || {});
  $("no-params").hidden = entries.length > 0;
  setContent(
    $("run-params"),
    entries.map(([key, value]) => [
      el("dt", { class: "mono" }, key),
      el("dd", { "data-param": key }, parameterValue(value)),
    ]),
  );
}

function renderSteps(steps) {
  $("steps-card").hidden = !steps.length;
  setContent(
    $("steps"),
    steps.map((step) =>
      el(
        "tr",
        { "data-step": step.task_id },
        el("td", {}, stepLabel(step)),
        el("td", {}, stateBadge(step.state)),
        el("td", { class: "mono", title: step.error || "" }, step.error ? withoutType(step.error) : "–"),
      ),
    ),
  );
}

/** Say what went wrong first: the error on one line, the full error and the log folded under it. */
function renderFailure(run) {
  const failure = run.failure;
  const box = $("failure");
  box.hidden = !failure;
  if (!failure) return;
  const isAction = failure.task_id === "action";
  box.className = `card callout ${failure.severity}`;
  box.dataset.taskId = failure.task_id;
  setContent(
    $("failure-title"),
    failure.severity === "warning"
      ? [el("span", { class: "badge state state-warning" }, t("failure.warning")), " ", t("failure.step_failed_after_success", { step: taskTitle(run, failure.task_id) })]
      : isAction ? t("failure.action_failed") : t("failure.step_failed", { step: taskTitle(run, failure.task_id) }),
  );
  const task = run.tasks.find((item) => item.task_id === failure.task_id);
  const log = logs.get(failure.task_id);
  const what = isAction ? "action" : "step";
  let message = failure.message;
  if (!message && log && log.entries) {
    const reason = reasonFromLog(log.entries);
    if (reason) message = t(`failure.${what}_stopped_silently`, { reason: oneLine(reason) });
  }
  if (!message && !log && task && task.log_url) message = t("failure.reading_log");
  if (!message) {
    message = failure.error_type
      ? t(`failure.${what}_error_type_only`, { type: failure.error_type })
      : t(`failure.${what}_no_message`);
  }
  setContent($("failure-message"), message);
  if (log && log.entries) {
    const trace = traceback(log.entries);
    $("failure-trace").hidden = !trace.length;
    setContent($("failure-trace"), formatEntries(trace));
    setContent($("failure-log"), log.lines.length ? log.lines : t("task.log_empty"));
  } else {
    $("failure-trace").hidden = true;
    setContent($("failure-log"), log ? log.lines : t("failure.never_started"));
  }
  const link = $("failure-task-link");
  link.hidden = !task;
  if (task) link.href = task.airflow_url;
}

async function load() {
  let run;
  try {
    run = await api(runPath);
  } catch (error) {
    if (error.status === 404) setContent($("tasks"), el("p", { class: "empty" }, t("run.missing")));
    else showError(error, "run.not_loaded");
    return;
  }
  renderRun(run);
  renderFailure(run);
  const cards = run.tasks.map((task) => taskCard(run, task));
  setContent($("tasks"), cards.length ? cards : el("p", { class: "empty" }, t("run.no_tasks")));
  await Promise.all(run.tasks.map((task, index) => refreshLog(task, cards[index])));
  renderFailure(run);
  finished = FINISHED.has(run.state) && run.tasks.every((task) => FINISHED.has(task.state) || !task.state);
  $("live").hidden = finished;
  if (finished && stop) {
    stop();
    stop = null;
  }
}

for (const id of ["grid-link", "failure-task-link"]) {
  $(id).addEventListener("click", (event) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    openInAirflow($(id).href);
  });
}

api(`/jobs/${config.jobId}`)
  .then((job) => setContent($("crumb-job"), job.name))
  .catch(() => {}); // a deleted job's runs stay readable; the crumb then keeps its id

load().then(() => {
  if (!finished) stop = every(3, load);
});

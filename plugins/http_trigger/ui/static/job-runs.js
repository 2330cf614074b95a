// A job's execution log: its runs, newest first, with status, how each was started, the caller
// (the HTTP caller's address, or the user), start, end, duration and run id. Refreshes itself,
// faster while a run is active.

import {
  api, callerLabel, config, el, every, FINISHED, formatDate, formatDuration, runUrl, setContent, showError, sourceLabel, runBadge,
} from "./common.js";
import { t } from "./i18n.js";

const PAGE_SIZE = 25;
const $ = (id) => document.getElementById(id);
let page = 0;
let active = false;
let lastRefresh = 0;

function row(run) {
  return el(
    "tr",
    { "data-run-id": run.dag_run_id, "data-state": run.state || "none" },
    el("td", {}, runBadge(run)),
    el("td", {}, sourceLabel(run.trigger_source)),
    el("td", { class: "caller" }, callerLabel(run)),
    el("td", {}, formatDate(run.start_date || run.queued_at)),
    el("td", { class: "opt" }, formatDate(run.end_date)),
    el("td", {}, formatDuration(run.duration_seconds)),
    el("td", {}, el("a", { href: runUrl(config.jobId, run.dag_run_id), class: "mono run-link" }, run.dag_run_id)),
  );
}

async function load() {
  lastRefresh = Date.now();
  let data;
  try {
    data = await api(`/jobs/${config.jobId}/runs?limit=${PAGE_SIZE}&offset=${page * PAGE_SIZE}`);
  } catch (error) {
    showError(error, "runs.not_loaded");
    return;
  }
  const tbody = $("runs-body");
  setContent(tbody, data.runs.length ? data.runs.map(row) : el("tr", {}, el("td", { colspan: 7, class: "empty" }, t("runs.none_yet"))));
  active = data.runs.some((run) => !FINISHED.has(run.state));
  $("live").hidden = !active;
  const total = data.total_entries;
  setContent($("page-info"), total ? t("pager.range", { first: page * PAGE_SIZE + 1, last: Math.min(total, (page + 1) * PAGE_SIZE), total }) : "");
  $("prev-page").disabled = page === 0;
  $("next-page").disabled = (page + 1) * PAGE_SIZE >= total;
  if (page === 0) {
    const latest = data.runs[0];
    $("latest-log").hidden = !latest;
    if (latest) $("latest-log").href = runUrl(config.jobId, latest.dag_run_id);
  }
}

async function loadName() {
  try {
    const job = await api(`/jobs/${config.jobId}`);
    setContent($("job-name"), job.name);
    setContent($("crumb-job"), job.name);
    document.title = `${t("title.runs_of", { name: job.name })} · ${t("product.name")}`;
  } catch (error) {
    if (error.status === 404) setContent($("job-name"), t("runs.job_deleted", { job_id: config.jobId }));
  }
}

$("prev-page").addEventListener("click", () => {
  page = Math.max(0, page - 1);
  load();
});
$("next-page").addEventListener("click", () => {
  page += 1;
  load();
});

loadName();
load();
// Every 3 s while a run is queued or running; every 15 s otherwise, to show new calls.
every(3, async () => {
  if (active || Date.now() - lastRefresh >= 15000) await load();
});

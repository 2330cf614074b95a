// The job list: search, group filter, sortable columns, pages of PAGE_SIZE; the state lives in the
// page's query string so a reload (or Airflow's frame URL) keeps it. Jobs whose spec file does not
// load head the table on every page, with their problem, so they are fixed rather than missed.
// A user who may edit a job gets its controls in its row: an enable/disable switch and Run now (after
// the same confirmation as on the job's page; a job taking its parameters at execution opens that
// page's Run now form), and Duplicate for those who may create jobs. Readers see none of them.

import {
  actionTitle, api, config, confirmRunNow, duplicateJob, el, formatDate, jobUrl, mirrorInAirflow, notify, readCatalogue,
  runUrl, setContent, showError, runBadge,
} from "./common.js";
import { t, tCount, tParts } from "./i18n.js";

const PAGE_SIZE = 25;
const catalogue = readCatalogue();
const params = new URLSearchParams(window.location.search);
const state = {
  search: params.get("q") || "",
  group: params.get("group") || "",
  order: params.get("order") || "id",
  page: Math.max(0, Number(params.get("page") || 1) - 1),
};
let total = 0;
let loading = 0;

const COLUMNS = 10;
const search = document.getElementById("search");
const groupFilter = document.getElementById("group-filter");
const tbody = document.getElementById("jobs-body");

function saveState() {
  const query = new URLSearchParams();
  if (state.search) query.set("q", state.search);
  if (state.group) query.set("group", state.group);
  if (state.order !== "id") query.set("order", state.order);
  if (state.page) query.set("page", String(state.page + 1));
  const suffix = query.toString();
  window.history.replaceState(null, "", `${window.location.pathname}${suffix ? `?${suffix}` : ""}`);
  mirrorInAirflow();
}

function showSort() {
  const key = state.order.replace(/^-/, "");
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort !== key ? "none" : state.order.startsWith("-") ? "descending" : "ascending");
  }
}

function loaded(job) {
  return job.is_paused !== null && job.is_paused !== undefined;
}

function enabledBadge(job) {
  if (!loaded(job)) return el("span", { class: "badge off" }, t("job_state.loading"));
  return job.is_paused
    ? el("span", { class: "badge off" }, t("job_state.disabled"))
    : el("span", { class: "badge on" }, t("job_state.enabled"));
}

/** An editor's switch: enabled (its DAG unpaused) or disabled; a job Airflow has not loaded yet waits. */
function enabledSwitch(job) {
  if (!loaded(job)) return enabledBadge(job);
  return el(
    "button",
    {
      type: "button",
      role: "switch",
      class: "switch",
      "aria-checked": String(!job.is_paused),
      "aria-label": t("jobs.enabled_switch", { name: job.name }),
      "data-control": "enabled",
      onclick: () => setEnabled(job, Boolean(job.is_paused)),
    },
    el("span", { class: "track", "aria-hidden": "true" }),
    el("span", { class: "label", "aria-hidden": "true" }, job.is_paused ? t("job_state.disabled") : t("job_state.enabled")),
  );
}

function runTitle(job, atExecution) {
  if (!loaded(job)) return t("jobs.run_title.not_loaded");
  if (job.is_paused) return t("jobs.run_title.disabled");
  return atExecution ? t("jobs.run_title.at_execution") : null;
}

function controls(job) {
  const atExecution = job.action.parameters_at_execution;
  const buttons = [];
  if (job.can_edit) {
    const runnable = job.is_paused === false;
    buttons.push(
      el(
        "button",
        {
          type: "button",
          class: "button small",
          "data-control": "run",
          disabled: !runnable,
          title: runTitle(job, atExecution),
          "aria-label": t("jobs.run_now_named", { name: job.name }),
          onclick: () => runNow(job),
        },
        atExecution ? t("job.run_now_ask") : t("job.run_now"),
      ),
    );
  }
  if (config.canCreate) {
    buttons.push(
      el(
        "button",
        {
          type: "button",
          class: "button small",
          "data-control": "duplicate",
          "aria-label": t("jobs.duplicate_named", { name: job.name }),
          onclick: () => duplicateJob(job),
        },
        t("job.duplicate"),
      ),
    );
  }
  return el("td", { class: "controls" }, buttons.length ? el("div", { class: "row-actions" }, buttons) : null);
}

function row(job) {
  const last = job.last_run;
  return el(
    "tr",
    { "data-job-id": job.id },
    el("td", {}, el("a", { href: jobUrl(job.id), class: "job-link" }, job.name), job.description ? el("span", { class: "sub description" }, job.description) : null),
    el("td", { class: "opt mono" }, String(job.id)),
    el("td", { class: "opt-narrow" }, job.group),
    el("td", { class: "opt-narrow" }, actionTitle(catalogue, job.action.type)),
    el("td", { class: "opt mono" }, job.action.aws_conn_id),
    el("td", {}, job.can_edit ? enabledSwitch(job) : enabledBadge(job)),
    el("td", { class: "opt mono" }, job.schedule || "–"),
    el(
      "td",
      {},
      last
        ? [el("a", { href: runUrl(job.id, last.dag_run_id) }, runBadge(last)), el("span", { class: "sub" }, formatDate(last.start_date || last.run_after))]
        : t("jobs.never_run"),
    ),
    el("td", { class: "opt" }, job.schedule && job.next_run_after ? formatDate(job.next_run_after) : "–"),
    controls(job),
  );
}

/** Reload the list, then put the focus back on the control of the job's row that was used. */
async function reloadFocusing(job, control) {
  await load();
  const again = tbody.querySelector(`tr[data-job-id="${CSS.escape(String(job.id))}"] [data-control="${control}"]`);
  if (again) again.focus();
}

async function setEnabled(job, enable) {
  try {
    await api(`/jobs/${job.id}/enabled`, { method: "PATCH", json: { enabled: enable } });
  } catch (error) {
    showError(error, enable ? "jobs.not_enabled" : "jobs.not_disabled", { name: job.name });
    return;
  }
  notify(t(enable ? "jobs.enabled_named" : "jobs.disabled_named", { name: job.name }), "ok");
  await reloadFocusing(job, "enabled");
}

async function runNow(job) {
  if (job.action.parameters_at_execution) {
    // Never started blind: the job's page asks for the parameters, then for confirmation.
    window.location.assign(jobUrl(job.id, "?run=1"));
    return;
  }
  if (!(await confirmRunNow(job, catalogue))) return;
  let run;
  try {
    run = await api(`/jobs/${job.id}/runs`, { method: "POST" });
  } catch (error) {
    showError(error, "jobs.not_started", { name: job.name });
    return;
  }
  const link = el("a", { href: runUrl(job.id, run.dag_run_id) }, run.dag_run_id);
  notify(tParts("jobs.run_started", { name: job.name, run: link }), "ok");
  await reloadFocusing(job, "run");
}

function brokenRow(broken) {
  return el(
    "tr",
    { "data-job-id": broken.id, class: "broken" },
    el(
      "td",
      { colspan: COLUMNS },
      el("a", { href: jobUrl(broken.id), class: "job-link" }, t("job.numbered", { job_id: broken.id })),
      " ",
      el("span", { class: "badge state state-failed" }, t("job_state.spec_invalid")),
      el("span", { class: "sub mono" }, broken.spec_error.message),
    ),
  );
}

async function load() {
  const ticket = (loading += 1);
  const query = new URLSearchParams({ order_by: state.order, limit: String(PAGE_SIZE), offset: String(state.page * PAGE_SIZE) });
  if (state.search) query.set("search", state.search);
  if (state.group) query.set("group", state.group);
  let data;
  try {
    data = await api(`/jobs?${query}`);
  } catch (error) {
    setContent(tbody, el("tr", {}, el("td", { colspan: COLUMNS, class: "empty" }, t("jobs.not_loaded"))));
    showError(error);
    return;
  }
  if (ticket !== loading) return; // a newer request is on its way
  total = data.total_entries;
  if (state.page > 0 && state.page * PAGE_SIZE >= total) {
    state.page = Math.max(0, Math.ceil(total / PAGE_SIZE) - 1);
    return load();
  }
  const current = groupFilter.value;
  setContent(groupFilter, el("option", { value: "" }, t("jobs.all_groups")), data.groups.map((group) => el("option", { value: group }, group)));
  groupFilter.value = data.groups.includes(current || state.group) ? current || state.group : "";
  setContent(
    tbody,
    data.broken_jobs.map(brokenRow),
    data.jobs.length || data.broken_jobs.length
      ? data.jobs.map(row)
      : el("tr", {}, el("td", { colspan: COLUMNS, class: "empty" }, t(state.search || state.group ? "jobs.none_matching" : "jobs.none_yet"))),
  );
  // The controls column shows only when this page has a control in it.
  const anyControl = config.canCreate || data.jobs.some((job) => job.can_edit);
  document.getElementById("jobs-table").classList.toggle("no-controls", !anyControl);
  const first = total ? state.page * PAGE_SIZE + 1 : 0;
  const last = Math.min(total, (state.page + 1) * PAGE_SIZE);
  setContent(document.getElementById("count"), tCount("jobs.count", total));
  setContent(document.getElementById("page-info"), total ? t("pager.range", { first, last, total }) : "");
  document.getElementById("prev-page").disabled = state.page === 0;
  document.getElementById("next-page").disabled = last >= total;
  // Files tied to no job (a wrong name, say) have no row: they are listed under the table.
  const shown = new Set(data.broken_jobs.map((broken) => broken.spec_error.message));
  const unattached = data.spec_errors.filter((message) => !shown.has(message));
  const errors = document.getElementById("spec-errors");
  errors.hidden = !unattached.length;
  setContent(errors, unattached.map((message) => el("li", { class: "notice error" }, t("jobs.file_not_loaded", { message }))));
  showSort();
  saveState();
}

let debounce = null;
// What a quick user typed before this script ran wins over the saved search.
state.search = search.value.trim() || state.search;
search.value = state.search;
search.addEventListener("input", () => {
  clearTimeout(debounce);
  debounce = setTimeout(() => {
    state.search = search.value.trim();
    state.page = 0;
    load();
  }, 250);
});
document.getElementById("filters").addEventListener("submit", (event) => event.preventDefault());
groupFilter.addEventListener("change", () => {
  state.group = groupFilter.value;
  state.page = 0;
  load();
});
for (const th of document.querySelectorAll("th[data-sort]")) {
  th.querySelector("button").addEventListener("click", () => {
    const key = th.dataset.sort;
    state.order = state.order === key ? `-${key}` : key;
    state.page = 0;
    load();
  });
}
document.getElementById("prev-page").addEventListener("click", () => {
  state.page = Math.max(0, state.page - 1);
  load();
});
document.getElementById("next-page").addEventListener("click", () => {
  state.page += 1;
  load();
});

const deleted = params.get("deleted");
if (deleted) {
  notify(t("jobs.deleted", { name: deleted }), "ok");
  params.delete("deleted");
}
load();

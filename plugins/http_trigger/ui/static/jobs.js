// The job list: search, group filter, sortable columns, pages of PAGE_SIZE; the state lives in the
// page's query string so a reload (or Airflow's frame URL) keeps it. Jobs whose spec file does not
// load head the table on every page, with their problem, so they are fixed rather than missed.

import {
  actionTitle, api, el, formatDate, jobUrl, notify, readCatalogue, runUrl, setContent, showError, runBadge,
} from "./common.js";

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
}

function showSort() {
  const key = state.order.replace(/^-/, "");
  for (const th of document.querySelectorAll("th[data-sort]")) {
    th.setAttribute("aria-sort", th.dataset.sort !== key ? "none" : state.order.startsWith("-") ? "descending" : "ascending");
  }
}

function enabledBadge(job) {
  if (job.is_paused === null || job.is_paused === undefined) return el("span", { class: "badge off" }, "loading");
  return job.is_paused ? el("span", { class: "badge off" }, "disabled") : el("span", { class: "badge on" }, "enabled");
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
    el("td", {}, enabledBadge(job)),
    el("td", { class: "opt mono" }, job.schedule || "–"),
    el(
      "td",
      {},
      last
        ? [el("a", { href: runUrl(job.id, last.dag_run_id) }, runBadge(last)), el("span", { class: "sub" }, formatDate(last.start_date || last.run_after))]
        : "never",
    ),
    el("td", { class: "opt" }, job.schedule && job.next_run_after ? formatDate(job.next_run_after) : "–"),
  );
}

function brokenRow(broken) {
  return el(
    "tr",
    { "data-job-id": broken.id, class: "broken" },
    el(
      "td",
      { colspan: 9 },
      el("a", { href: jobUrl(broken.id), class: "job-link" }, `Job ${broken.id}`),
      " ",
      el("span", { class: "badge state state-failed" }, "spec invalid: cannot run"),
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
    setContent(tbody, el("tr", {}, el("td", { colspan: 9, class: "empty" }, "The jobs could not be loaded.")));
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
  setContent(groupFilter, el("option", { value: "" }, "All groups"), data.groups.map((group) => el("option", { value: group }, group)));
  groupFilter.value = data.groups.includes(current || state.group) ? current || state.group : "";
  setContent(
    tbody,
    data.broken_jobs.map(brokenRow),
    data.jobs.length || data.broken_jobs.length
      ? data.jobs.map(row)
      : el("tr", {}, el("td", { colspan: 9, class: "empty" }, state.search || state.group ? "No job matches." : "No job yet.")),
  );
  const first = total ? state.page * PAGE_SIZE + 1 : 0;
  const last = Math.min(total, (state.page + 1) * PAGE_SIZE);
  setContent(document.getElementById("count"), `${total} job${total === 1 ? "" : "s"}`);
  setContent(document.getElementById("page-info"), total ? `${first}–${last} of ${total}` : "");
  document.getElementById("prev-page").disabled = state.page === 0;
  document.getElementById("next-page").disabled = last >= total;
  // Files tied to no job (a wrong name, say) have no row: they are listed under the table.
  const shown = new Set(data.broken_jobs.map((broken) => broken.spec_error.message));
  const unattached = data.spec_errors.filter((message) => !shown.has(message));
  const errors = document.getElementById("spec-errors");
  errors.hidden = !unattached.length;
  setContent(errors, unattached.map((message) => el("li", { class: "notice error" }, `Job file not loaded: ${message}`)));
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
  notify(`Job “${deleted}” was deleted. Its URL and token no longer work; its runs stay in Airflow.`, "ok");
  params.delete("deleted");
}
load();

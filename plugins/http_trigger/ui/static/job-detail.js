// A job's detail page: its settings (for editors, each with an Edit link to its step of the form),
// its trigger URL, token and the curl line of the seed, Update (new URL and token), enable/disable,
// Run now, Duplicate, delete, and its latest executions. A job taking its
// parameters at execution lists the body's fields with an example, its curl line sends that body,
// and its Run now asks for the parameters in a form generated from the action's schema. The API shows
// every secret masked; an editor's Reveal asks for them (Airflow's audit log records it) and shows
// them with Copy buttons until Hide. A job whose spec file does not load shows its problems instead.
// "Changes" lists the job's audit: who changed, ran or revealed it, when, from where and how.

import {
  actionTitle, airflowLink, api, callerLabel, config, confirmAction, confirmRunNow, copyButton, duplicateJob, el, every,
  formatDate, formatDuration, jobUrl, notify, openLinkInAirflow, readCatalogue, runUrl, setContent, showError,
  sourceLabel, runBadge,
} from "./common.js";
import { t, tParts } from "./i18n.js";
import { checkValues, describeFields, exampleBody, locKey, schemaForm } from "./schema-form.js";

const catalogue = readCatalogue();
const $ = (id) => document.getElementById(id);
let job = null;
let revealed = null; // the job's secrets in clear, from the reveal route, while they are shown

function canEdit() {
  return Boolean(job && job.can_edit);
}

function triggerUrl() {
  return revealed ? revealed.trigger_url : job.trigger_url;
}

function atExecution() {
  return Boolean(job && job.action.parameters_at_execution);
}

function actionOf() {
  return catalogue.actions.find((item) => item.name === job.action.type) || null;
}

// The command line that starts the job, shown and copied: the seed's empty POST (the revealed `curl`
// is the exact one), or the POST of the example body for a job taking its parameters at execution.
function curlLine() {
  if (atExecution()) return curlWithBody();
  return revealed ? revealed.curl : `curl -X POST -H "Authorization: CAAuth ${job.token}" -H "Content-Length: 0" ${job.trigger_url}`;
}

/** A parameter of a post-processing step as shown: revealed in clear, else as the API gives it (masked). */
function shownParameter(when, index, key, value) {
  const field = `post_processing.${when}.${index}.parameters.${key}`;
  const clear = revealed && revealed.fields.find((item) => item.field === field);
  return clear ? clear.value : value;
}

function exampleJson() {
  const action = actionOf();
  return JSON.stringify(action ? exampleBody(action.parameters_schema) : {});
}

/** A field's default as the table shows it; an optional list or object without one starts empty. */
function shownDefault(item) {
  if (item.default !== undefined) return JSON.stringify(item.default);
  if (item.required) return "–";
  if (item.type.startsWith("array")) return "[]";
  return item.type === "object" ? "{}" : "–";
}

function bodyFieldRows() {
  const action = actionOf();
  const fields = action ? describeFields(action.parameters_schema) : [];
  if (!fields.length) return el("tr", {}, el("td", { colspan: 5, class: "empty" }, t("body.no_parameters")));
  return fields.map((item) =>
    el(
      "tr",
      { "data-field": item.name },
      el("td", {}, el("code", {}, item.name)),
      el("td", { class: "mono" }, item.type),
      el("td", {}, item.required ? t("body.is_required") : t("body.is_optional")),
      el("td", { class: "opt mono" }, shownDefault(item)),
      el("td", {}, item.description),
    ),
  );
}

function curlWithBody() {
  const json = exampleJson().replace(/'/g, "'\\''");
  const token = revealed ? revealed.token : job.token;
  return `curl -X POST -H "Authorization: CAAuth ${token}" -H "Content-Type: application/json" -d '${json}' ${triggerUrl()}`;
}

function renderTrigger() {
  const editor = canEdit();
  setContent($("trigger-url"), triggerUrl() || "–");
  setContent($("token"), (revealed ? revealed.token : job.token) || "–");
  $("no-token").hidden = editor;
  $("reveal-box").hidden = !editor || !job.masked_fields.length;
  $("reveal").textContent = revealed ? t("detail.hide") : t("detail.reveal");
  for (const id of ["copy-url", "copy-token", "copy-curl"]) $(id).hidden = !revealed;
  $("update-box").hidden = !editor;
  setContent($("curl"), curlLine());
  $("body-sample").hidden = !atExecution();
  if (atExecution()) {
    setContent($("example-body"), JSON.stringify(JSON.parse(exampleJson()), null, 2));
    setContent($("body-fields").querySelector("tbody"), bodyFieldRows());
  }
}

/** A link to the page of the shared post-processing definition a step references. */
function definitionLink(name) {
  return el("a", { href: `${config.uiRoot}/post-processing/${encodeURIComponent(name)}`, class: "mono definition-link" }, name);
}

function postList(when) {
  const items = job.post_processing[when];
  if (!items.length) return t("common.none");
  return el(
    "ul",
    { class: "plain" },
    items.map((item, index) => {
      if (item.ref !== undefined) return el("li", {}, tParts("detail.shared_step", { definition: definitionLink(item.ref) }));
      const kind = catalogue.post_processing.find((entry) => entry.name === item.type);
      const shown = Object.entries(item.parameters || {})
        .map(([key, value]) => [key, shownParameter(when, index, key, value)])
        .map(([key, value]) => `${key}: ${typeof value === "string" ? value : JSON.stringify(value)}`)
        .slice(0, 3)
        .join(", ");
      return el("li", {}, el("strong", {}, kind ? kind.title : item.type), shown ? ` — ${shown}` : "");
    }),
  );
}

function parameterList(parameters) {
  // Empty lists and unset values are the model's defaults: not worth a line.
  const entries = Object.entries(parameters || {}).filter(
    ([, value]) => value !== null && !(Array.isArray(value) && value.length === 0),
  );
  if (!entries.length) return t("common.none");
  return el(
    "ul",
    { class: "plain" },
    entries.map(([key, value]) => el("li", {}, el("span", { class: "mono" }, key), ": ", typeof value === "string" ? value : JSON.stringify(value))),
  );
}

/** An editor's link to the edit form's step that changes a setting (a step's name, see job-form.js). */
function editLink(step, what) {
  if (!canEdit()) return null;
  return [" ", el("a", { href: jobUrl(job.id, `/edit?step=${step}`), class: "edit-link", "aria-label": t(what) }, t("common.edit"))];
}

function renderSettings() {
  const dagUrl = `${config.airflowRoot}/dags/${encodeURIComponent(job.dag_id)}`;
  const trigger = job.schedule
    ? tParts("detail.trigger_with_schedule", { schedule: el("code", {}, job.schedule) })
    : t("job.http_trigger");
  const connection = el("code", {}, job.action.aws_conn_id);
  const rows = [
    [t("detail.job_id"), el("span", { class: "mono" }, String(job.id))],
    [t("job.group"), job.group],
    [t("job.trigger"), [trigger, editLink("trigger", "detail.edit.trigger")]],
  ];
  if (job.schedule) rows.push([t("job.next_run"), formatDate(job.next_run_after)]);
  if (job.previous_secret_valid_until) {
    rows.push([t("detail.previous_secret"), t("detail.previous_secret_until", { when: formatDate(job.previous_secret_valid_until) })]);
  }
  rows.push(
    [t("job.action"), [actionTitle(catalogue, job.action.type), " ", el("span", { class: "mono sub" }, job.action.type), editLink("action", "detail.edit.action")]],
    [
      t("job.aws_account"),
      [
        job.action.region ? tParts("aws.connection_in_region", { connection, region: job.action.region }) : connection,
        editLink("account", "detail.edit.account"),
      ],
    ],
    [
      t("run.parameters"),
      [job.action.parameters_at_execution ? t("detail.parameters_at_execution") : parameterList(job.action.parameters), editLink("parameters", "detail.edit.parameters")],
    ],
    [t("job.on_success"), [postList("on_success"), editLink("post", "detail.edit.on_success")]],
    [t("job.on_failure"), [postList("on_failure"), editLink("post", "detail.edit.on_failure")]],
  );
  if (job.description) rows.push([t("job.description"), job.description]);
  if (job.tags.length) rows.push([t("job.tags"), job.tags.join(", ")]);
  rows.push([t("detail.airflow_dag"), airflowLink(dagUrl, el("span", { class: "mono" }, job.dag_id))]);
  setContent($("settings"), rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

function renderHeader() {
  setContent($("job-name"), job.name);
  setContent($("crumb-job"), job.name);
  document.title = `${job.name} · ${t("product.name")}`;
  const badge = $("job-state");
  if (job.is_paused === null) {
    badge.className = "badge off";
    setContent(badge, t("job_state.loading_in_airflow"));
  } else {
    badge.className = job.is_paused ? "badge off" : "badge on";
    setContent(badge, job.is_paused ? t("job_state.disabled") : t("job_state.enabled"));
  }
  $("job-actions").hidden = !canEdit();
  const toggle = $("toggle-enabled");
  toggle.textContent = job.is_paused ? t("job.enable") : t("job.disable");
  toggle.disabled = job.is_paused === null;
  $("run-now").disabled = job.is_paused !== false;
  $("run-now").textContent = atExecution() ? t("job.run_now_ask") : t("job.run_now");
  $("duplicate-job").hidden = !config.canCreate;
}

function renderBroken(broken) {
  setContent($("job-name"), t("job.numbered", { job_id: broken.id }));
  const badge = $("job-state");
  badge.className = "badge state state-failed";
  setContent(badge, t("job_state.spec_invalid"));
  $("job-actions").hidden = true;
  for (const card of document.querySelectorAll(".grid-2")) card.hidden = true;
  notify(
    [
      t("detail.broken", { job_id: broken.id, file: broken.spec_error.file }),
      el("ul", { class: "plain mono" }, broken.spec_error.problems.map((problem) => el("li", {}, `${problem.field}: ${problem.reason}`))),
    ],
    "error",
    { sticky: true },
  );
}

function render() {
  renderHeader();
  renderTrigger();
  renderSettings();
}

async function loadJob() {
  try {
    job = await api(`/jobs/${config.jobId}`);
  } catch (error) {
    if (error.status === 404) {
      setContent($("job-name"), t("detail.missing_heading", { job_id: config.jobId }));
      for (const card of document.querySelectorAll(".grid-2")) card.hidden = true;
      notify(t("detail.missing"), "error", { sticky: true });
    } else showError(error, "detail.not_loaded");
    return false;
  }
  if (job.spec_error) {
    renderBroken(job);
    job = null;
    return false;
  }
  render();
  return true;
}

/** Fill a table's body with rows, or with one row saying `emptyText` across its columns. */
function fillRows(table, rows, emptyText) {
  const columns = table.querySelectorAll("thead th").length;
  const body = table.querySelector("tbody");
  setContent(body, rows.length ? rows : el("tr", {}, el("td", { colspan: columns, class: "empty" }, emptyText)));
}

async function loadRuns() {
  let data;
  try {
    data = await api(`/jobs/${config.jobId}/runs?limit=5`);
  } catch (error) {
    fillRows($("recent-runs"), [], t("runs.not_loaded_short"));
    return;
  }
  const latest = data.runs[0];
  $("latest-log").hidden = !latest;
  if (latest) $("latest-log").href = runUrl(config.jobId, latest.dag_run_id);
  const rows = data.runs.map((run) =>
    el(
      "tr",
      { "data-run-id": run.dag_run_id },
      el("td", {}, runBadge(run)),
      el("td", {}, sourceLabel(run.trigger_source)),
      el("td", { class: "opt caller" }, callerLabel(run)),
      el("td", {}, formatDate(run.start_date || run.queued_at)),
      el("td", { class: "opt" }, formatDuration(run.duration_seconds)),
      el("td", {}, el("a", { href: runUrl(config.jobId, run.dag_run_id), class: "mono" }, run.dag_run_id),
        " ", airflowLink(run.grid_url, t("detail.run_in_airflow")), " · ", airflowLink(`${run.grid_url}/tasks/action`, t("detail.action_log"))),
    ),
  );
  fillRows($("recent-runs"), rows, t("runs.none_yet"));
}

// The audit's events (jobs/audit.py) and channels; one added later shows as it is.
const AUDIT_EVENTS = new Set(["create", "update", "enable", "disable", "rotate", "delete", "run_now", "reveal"]);
const CHANNELS = new Set(["page", "api", "cli"]);

/** What an audit entry says happened, with the fields it names (never their values). */
function auditWhat(entry) {
  const event = entry.event.replace(/^http_trigger\./, "");
  const what = AUDIT_EVENTS.has(event) ? t(`audit.event.${event}`) : entry.event;
  const fields = entry.details.fields;
  if (Array.isArray(fields) && fields.length) {
    return tParts("audit.with_detail", { what, detail: el("span", { class: "mono sub" }, fields.join(", ")) });
  }
  if (entry.details.duplicated_from) {
    const original = el("a", { href: jobUrl(entry.details.duplicated_from) }, t("audit.job", { job_id: entry.details.duplicated_from }));
    return tParts("audit.copy_of", { what, job: original });
  }
  if (entry.details.dag_run_id) {
    const run = el("a", { href: runUrl(config.jobId, entry.details.dag_run_id), class: "mono" }, entry.details.dag_run_id);
    return tParts("audit.with_detail", { what, detail: run });
  }
  return what;
}

async function loadAudit() {
  let data;
  try {
    data = await api(`/jobs/${config.jobId}/audit?limit=10`);
  } catch (error) {
    const denied = error.status === 403;
    fillRows($("audit-entries"), [], t(denied ? "audit.denied" : "audit.not_loaded"));
    return;
  }
  const rows = data.entries.map((entry) =>
    el(
      "tr",
      {},
      el("td", {}, formatDate(entry.when)),
      el("td", {}, entry.user || "–"),
      el("td", {}, auditWhat(entry)),
      el("td", { class: "opt" }, CHANNELS.has(entry.channel) ? t(`audit.channel.${entry.channel}`) : entry.channel || "–"),
      el("td", { class: "opt mono" }, entry.source_address || "–"),
    ),
  );
  fillRows($("audit-entries"), rows, t("audit.none_yet"));
}

function wireActions() {
  // Airflow's frame does not allow downloads; Airflow's own page downloads the file instead.
  $("audit-csv").addEventListener("click", openLinkInAirflow);

  $("reveal").addEventListener("click", async () => {
    if (revealed) {
      revealed = null;
    } else {
      try {
        revealed = await api(`/jobs/${config.jobId}/secrets/reveal`, { method: "POST" });
      } catch (error) {
        showError(error, "detail.not_revealed");
        return;
      }
    }
    renderTrigger();
    renderSettings();
    loadAudit();
  });
  copyButton($("copy-url"), () => revealed.trigger_url);
  copyButton($("copy-token"), () => revealed.token);
  copyButton($("copy-curl"), () => curlLine());
  copyButton($("copy-body"), () => JSON.stringify(JSON.parse(exampleJson()), null, 2));

  $("rotate").addEventListener("click", async () => {
    const grace = (job.trigger && job.trigger.rotation_grace_seconds) || 0;
    const confirmed = await confirmAction({
      title: t("rotate.title"),
      message: grace ? t("rotate.message_grace", { seconds: grace }) : t("rotate.message"),
      confirmLabel: t("detail.rotate"),
      danger: true,
    });
    if (!confirmed) return;
    try {
      await api(`/jobs/${config.jobId}/rotate`, { method: "POST" });
      // Shown masked like any other time: Reveal shows the new ones.
      job = await api(`/jobs/${config.jobId}`);
      revealed = null;
      render();
      loadAudit();
      notify(
        job.previous_secret_valid_until
          ? t("rotate.done_grace", { when: formatDate(job.previous_secret_valid_until) })
          : t("rotate.done"),
        "ok",
      );
    } catch (error) {
      showError(error, "rotate.failed");
    }
  });

  $("toggle-enabled").addEventListener("click", async () => {
    const enable = Boolean(job.is_paused);
    try {
      job = await api(`/jobs/${config.jobId}/enabled`, { method: "PATCH", json: { enabled: enable } });
      render();
      loadAudit();
      notify(t(enable ? "detail.enabled" : "detail.disabled"), "ok");
    } catch (error) {
      showError(error);
    }
  });

  $("run-now").addEventListener("click", () => (atExecution() ? openRunForm() : runNow(null)));
  $("duplicate-job").addEventListener("click", () => duplicateJob(job));
  $("run-cancel").addEventListener("click", () => $("run-dialog").close());
  $("run-form").addEventListener("submit", (event) => {
    event.preventDefault();
    submitRunForm();
  });

  $("delete-job").addEventListener("click", async () => {
    const confirmed = await confirmAction({
      title: t("delete.title", { name: job.name }),
      message: t("delete.message"),
      confirmLabel: t("delete.confirm"),
      danger: true,
    });
    if (!confirmed) return;
    try {
      await api(`/jobs/${config.jobId}`, { method: "DELETE" });
      window.location.assign(`${config.uiRoot}/jobs?deleted=${encodeURIComponent(job.name)}`);
    } catch (error) {
      showError(error, "delete.failed");
    }
  });
}

let runForm = null; // the Run now form of a job taking its parameters at execution, kept while the page is open

function openRunForm() {
  const action = actionOf();
  if (!runForm || runForm.type !== job.action.type) {
    const schema = action ? action.parameters_schema : { type: "object", properties: {} };
    runForm = { type: job.action.type, schema, form: schemaForm(schema, { loc: [] }) };
    setContent($("run-fields"), runForm.form.node);
  }
  setContent($("run-title"), t("run_form.title", { name: job.name }));
  setContent($("run-intro"), t("run_form.intro", { action: actionTitle(catalogue, job.action.type) }));
  clearRunErrors();
  $("run-dialog").showModal();
}

function clearRunErrors() {
  for (const slot of $("run-dialog").querySelectorAll(".field-error")) setContent(slot);
  for (const input of $("run-dialog").querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
}

/** The error slot of the form field nearest a problem's place (an item's problem goes to its list). */
function runErrorSlot(loc) {
  for (let length = loc.length; length > 0; length -= 1) {
    const slot = $("run-fields").querySelector(`[data-error-for="${CSS.escape(locKey(loc.slice(0, length)))}"]`);
    if (slot) return slot;
  }
  return null;
}

/** Show each problem at its field of the Run now form; one of the whole body under the form. */
function showRunErrors(problems) {
  clearRunErrors();
  for (const problem of problems) {
    const key = locKey(problem.loc);
    const slot = runErrorSlot(problem.loc);
    const target = slot || $("run-form-error");
    target.append(el("span", { class: "message" }, slot ? problem.msg : `${key ? `${key}: ` : ""}${problem.msg}`), " ");
    const field = slot && slot.closest(".field, fieldset");
    const input = field && field.querySelector("input:not([type=checkbox]), select, textarea");
    if (input) input.setAttribute("aria-invalid", "true");
  }
}

async function submitRunForm() {
  const parameters = runForm.form.read();
  const problems = checkValues(runForm.schema, parameters);
  if (problems.length) {
    showRunErrors(problems);
    return;
  }
  $("run-dialog").close();
  await runNow(parameters);
}

/** Ask, then start one run; ``parameters`` is null for a job whose parameters are fixed. */
async function runNow(parameters) {
  const confirmed = await confirmRunNow(job, catalogue, parameters);
  if (!confirmed) {
    if (parameters !== null) $("run-dialog").showModal();
    return;
  }
  try {
    const run = await api(`/jobs/${config.jobId}/runs`, parameters === null ? { method: "POST" } : { method: "POST", json: parameters });
    notify(tParts("detail.run_started", { run: el("a", { href: runUrl(config.jobId, run.dag_run_id) }, run.dag_run_id) }), "ok");
    loadRuns();
    loadAudit();
  } catch (error) {
    if (parameters !== null && error.status === 422 && Array.isArray(error.detail)) {
      $("run-dialog").showModal();
      showRunErrors(error.detail.map((item) => ({ loc: (item.loc || []).filter((part, at) => !(at === 0 && part === "body")), msg: item.msg })));
      return;
    }
    showError(error, "detail.not_started");
  }
}

async function start() {
  wireActions();
  const params = new URLSearchParams(window.location.search);
  if (params.get("created")) {
    notify(t("detail.created"), "ok");
  } else if (params.get("saved")) {
    notify(t("detail.saved"), "ok");
  } else if (params.get("duplicated")) {
    notify(t("detail.duplicated", { job_id: params.get("duplicated") }), "ok");
  }
  if (params.toString()) window.history.replaceState(null, "", jobUrl(config.jobId));
  const found = await loadJob();
  // The job list's Run now of a job taking its parameters at execution opens the form here.
  if (found && params.get("run") && canEdit() && job.is_paused === false) {
    if (atExecution()) openRunForm();
    else runNow(null);
  }
  loadRuns();
  loadAudit();
  every(3, async () => {
    if (found && job && job.is_paused === null) await loadJob();
    await loadRuns();
    await loadAudit();
  });
}

start();

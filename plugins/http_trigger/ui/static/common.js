// What every page shares: the API client (with the CSRF header), DOM building without HTML
// strings (every value goes in as text), dates, state badges, copy, confirmation, notices.

import { language, locale, t, tParts } from "./i18n.js";

const body = document.body.dataset;

export const config = {
  uiRoot: body.uiRoot,
  apiRoot: body.apiRoot,
  airflowRoot: body.airflowRoot,
  jobId: body.jobId ? Number(body.jobId) : null,
  runId: body.runId || null,
  canCreate: body.canCreate === "true",
};

// Sent with every request; the API refuses cookie-authenticated changes without it (CSRF).
const CSRF_HEADER = "X-Requested-With";
// Sent with every request too: the job's audit records that a change came from the pages.
const CHANNEL_HEADER = "X-HTTP-Trigger-Channel";

export class ApiError extends Error {
  constructor(status, message, detail) {
    super(message);
    this.status = status;
    this.detail = detail;
  }
}

function messageOf(status, data) {
  if (data && typeof data.message === "string") return data.message;
  if (data && typeof data.detail === "string") return data.detail;
  if (data && Array.isArray(data.detail)) {
    return data.detail.map((item) => `${(item.loc || []).filter((p) => p !== "body").join(".")}: ${item.msg}`).join("; ");
  }
  return t("error.server_answered", { status });
}

async function request(url, { method = "GET", json, headers = {} } = {}) {
  const options = {
    method,
    credentials: "same-origin",
    headers: {
      Accept: "application/json",
      // The API says its texts (schemas, what to fix in a field) in the page's language, not the browser's.
      "Accept-Language": language,
      [CSRF_HEADER]: "http-trigger-ui",
      [CHANNEL_HEADER]: "page",
      ...headers,
    },
  };
  if (json !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new ApiError(0, t("error.unreachable"));
  }
  if (response.status === 401) {
    showLoginNotice();
    throw new ApiError(401, t("error.logged_out"));
  }
  if (response.status === 204) return null;
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch (error) {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, messageOf(response.status, data), data && data.detail);
  return data;
}

/** Call the plugin's JSON API, e.g. api("/jobs/3"). */
export function api(path, options) {
  return request(`${config.apiRoot}${path}`, options);
}

/** Call Airflow's REST API, e.g. airflowApi("/connections"). */
export function airflowApi(path, options) {
  return request(`${config.airflowRoot}/api/v2${path}`, options);
}

/** Fetch a URL the API handed out (e.g. a task's log_url). */
export function fetchJson(url, options) {
  return request(url, options);
}

/**
 * Build an element: el("a", {href: url, class: "x"}, "text", child). Strings become text nodes,
 * never HTML. Attributes: class, dataset (object), on<event> (function), hidden/disabled (bool).
 */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  append(node, children);
  return node;
}

function append(node, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replace an element's content with children (text or nodes). */
export function setContent(node, ...children) {
  node.replaceChildren();
  append(node, children);
  return node;
}

// Airflow's UI keeps the time zone the user picked (its clock menu) in local storage; same origin.
function airflowTimeZone() {
  try {
    const saved = window.localStorage.getItem("timezone");
    if (!saved) return undefined;
    const zone = saved.startsWith('"') ? JSON.parse(saved) : saved;
    new Intl.DateTimeFormat(locale, { timeZone: zone });
    return zone;
  } catch (error) {
    return undefined; // none saved, or not a zone this browser knows: the browser's own
  }
}

// In the page's language and the user's variant of it: Jan 31, 2026, 9:05:03 AM, 2026/01/31 9:05:03.
const dateFormat = new Intl.DateTimeFormat(locale, { timeZone: airflowTimeZone(), dateStyle: "medium", timeStyle: "medium" });

/** Show an ISO date in Airflow's chosen time zone, as the page's language writes dates. */
export function formatDate(value) {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  return dateFormat.format(date);
}

const pad = (value) => String(value).padStart(2, "0");

/** Show a duration in seconds as 4.2 s, 3 min 05 s or 2 h 03 min (in the page's language). */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return t("duration.seconds", { seconds: seconds.toFixed(seconds < 10 ? 1 : 0) });
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return t("duration.minutes", { minutes, seconds: pad(Math.round(seconds % 60)) });
  return t("duration.hours", { hours: Math.floor(minutes / 60), minutes: pad(minutes % 60) });
}

export const FINISHED = new Set(["success", "failed", "skipped", "upstream_failed", "removed"]);

// The run and task states of Airflow, as its own UI names them; a state added later shows as it is.
const STATES = new Set([
  "none", "success", "failed", "running", "queued", "scheduled", "skipped", "upstream_failed", "up_for_retry",
  "up_for_reschedule", "removed", "restarting", "deferred",
]);

/** A coloured state badge, as Airflow shows run and task states. */
export function stateBadge(state) {
  const name = state || "none";
  return el("span", { class: `badge state state-${name}`, "data-state": name }, STATES.has(name) ? t(`state.${name}`) : name);
}

/**
 * A run's badge: its state, or an amber one when the action succeeded but a notification failed,
 * which Airflow's state alone reads as a plain success.
 */
export function runBadge(run) {
  const badge = run.outcome === "succeeded_with_warnings"
    ? el(
      "span",
      { class: "badge state state-warning", "data-state": run.state, title: t("state.warning_title") },
      t("state.warning"),
    )
    : stateBadge(run.state);
  badge.dataset.outcome = run.outcome;
  return badge;
}

// How a run was started (run_sources.py); a source added later shows as it is.
const SOURCES = new Set(["http", "schedule", "manual", "cli", "backfill", "asset"]);

export function sourceLabel(source) {
  return SOURCES.has(source) ? t(`source.${source}`) : source || "–";
}

/** Who started a run, the same wherever runs are listed or shown: an HTTP caller's address, else the user. */
export function callerLabel(run) {
  if (run.trigger_source === "http") return run.caller_address || t("run.unknown_address");
  return run.triggering_user || "–";
}

/** Links inside the pages keep the page in Airflow's frame; this one opens Airflow's own view. */
export function openInAirflow(url) {
  // Airflow's frame allows scripts and same-origin access but not top navigation; a link clicked
  // in Airflow's own document navigates Airflow's page itself.
  try {
    if (window.top !== window && window.top.location.origin === window.location.origin) {
      const link = window.top.document.createElement("a");
      link.href = url;
      window.top.document.body.append(link);
      link.click();
      link.remove();
      return;
    }
  } catch (error) {
    // another origin: navigate this frame instead
  }
  window.location.assign(url);
}

/**
 * Show this frame's address in Airflow's own, after history.pushState or replaceState here: Airflow
 * mirrors the frame's address only when a page loads in it. Airflow's router is not told (it would
 * load the frame again), so its address bar, a reload and a copied link name this page and step.
 */
export function mirrorInAirflow() {
  try {
    if (window.top === window || window.top.location.origin !== window.location.origin) return;
    const prefix = `${config.airflowRoot}/plugin/http-trigger`;
    const top = window.top.location;
    if (!top.pathname.startsWith(`${prefix}/`)) return;
    const here = `${prefix}${window.location.pathname}${window.location.search}${window.location.hash}`;
    if (`${top.pathname}${top.search}${top.hash}` !== here) window.top.history.replaceState(window.top.history.state, "", here);
  } catch (error) {
    // another origin: Airflow's address stays as it is
  }
}

/** A link's click handler that opens its URL in Airflow's page (a plain click; others keep theirs). */
export function openLinkInAirflow(event) {
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey) return;
  event.preventDefault();
  openInAirflow(event.currentTarget.href);
}

/** A link to one of Airflow's own pages, opened in Airflow's page rather than in this frame. */
export function airflowLink(url, ...children) {
  return el("a", { href: url, onclick: openLinkInAirflow }, ...children);
}

/** Copy text to the clipboard; falls back to a hidden text area where the Clipboard API is missing. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch (error) {
    // permission refused: try the fallback
  }
  const area = el("textarea", { class: "sr-only", "aria-hidden": "true", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  let copied = false;
  try {
    copied = document.execCommand("copy");
  } catch (error) {
    copied = false;
  }
  area.remove();
  return copied;
}

/** Wire a button to copy what getText() returns, saying briefly that it did. */
export function copyButton(button, getText) {
  const label = button.textContent;
  button.addEventListener("click", async () => {
    const copied = await copyText(getText());
    button.textContent = copied ? t("common.copied") : t("common.copy_failed");
    setTimeout(() => {
      button.textContent = label;
    }, 1500);
  });
}

/** Ask for confirmation in the page's dialog (Airflow's frame does not allow window.confirm). */
export function confirmAction({ title, message, confirmLabel = t("common.confirm"), danger = false }) {
  const dialog = document.getElementById("confirm-dialog");
  setContent(document.getElementById("confirm-title"), title);
  setContent(document.getElementById("confirm-message"), message);
  const ok = document.getElementById("confirm-ok");
  ok.textContent = confirmLabel;
  ok.className = danger ? "button danger solid" : "button primary";
  dialog.returnValue = "";
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => resolve(dialog.returnValue === "confirm"), { once: true });
    dialog.showModal();
    document.getElementById("confirm-cancel").focus();
  });
}

/**
 * Ask before starting a run of `job` now, naming the job, its AWS action, the connection's account
 * and the parameters: `null` for the job's own (fixed) ones, else those given for this run.
 */
export function confirmRunNow(job, catalogue, parameters = null) {
  const { aws_conn_id: connection, region } = job.action;
  const values = {
    action: actionTitle(catalogue, job.action.type),
    where: region ? t("aws.connection_in_region", { connection, region }) : connection,
  };
  const entries = Object.entries(parameters || {});
  let message;
  if (parameters === null) message = tParts("run_now.message_job_parameters", values);
  else if (!entries.length) message = tParts("run_now.message_defaults", values);
  else {
    const shown = el("span", { class: "mono" }, entries.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(", "));
    message = tParts("run_now.message_parameters", { ...values, parameters: shown });
  }
  return confirmAction({ title: t("run_now.title", { name: job.name }), message, confirmLabel: t("run_now.confirm") });
}

/**
 * Ask, then copy `job` into a new job (its own URL and token, disabled) and open the copy's page.
 * Resolves false when the user cancelled or the copy failed (the error is shown).
 */
export async function duplicateJob(job) {
  const confirmed = await confirmAction({
    title: t("duplicate.title", { name: job.name }),
    message: t("duplicate.message"),
    confirmLabel: t("duplicate.confirm"),
  });
  if (!confirmed) return false;
  let copy;
  try {
    copy = await api(`/jobs/${encodeURIComponent(job.id)}/duplicate`, { method: "POST" });
  } catch (error) {
    showError(error, "duplicate.failed");
    return false;
  }
  window.location.assign(jobUrl(copy.id, `?duplicated=${encodeURIComponent(job.id)}`));
  return true;
}

/** Show a notice above the page; kind is "ok", "error" or "" (neutral). */
export function notify(message, kind = "", { sticky = false } = {}) {
  const notice = el("p", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, message);
  document.getElementById("notices").append(notice);
  if (!sticky) setTimeout(() => notice.remove(), 8000);
  return notice;
}

let loginNoticeShown = false;

export function loginUrl() {
  const next = `${config.airflowRoot}/plugin/http-trigger${window.location.pathname}${window.location.search}`;
  return `${config.airflowRoot}/api/v2/auth/login?next=${encodeURIComponent(next)}`;
}

function showLoginNotice() {
  if (loginNoticeShown) return;
  loginNoticeShown = true;
  const url = loginUrl();
  notify(tParts("login.ended", { link: airflowLink(url, t("login.again")) }), "error", { sticky: true });
}

/**
 * Show an error from the API as a notice (a 401 already shows the login notice): its message alone,
 * or within the message `key`, which says what failed and where the error goes ({error}).
 */
export function showError(error, key = null, values = {}) {
  if (error instanceof ApiError && error.status === 401) return;
  const text = String(error.message || error);
  notify(key ? t(key, { ...values, error: text }) : text, "error");
}

/** Read the catalogue the page embeds: actions and post-processing kinds with their JSON schemas. */
export function readCatalogue() {
  const node = document.getElementById("catalogue");
  return node ? JSON.parse(node.textContent) : { actions: [], post_processing: [], post_processing_step: {} };
}

export function actionTitle(catalogue, type) {
  const action = catalogue.actions.find((item) => item.name === type);
  return action ? action.title : type;
}

export function jobUrl(jobId, suffix = "") {
  return `${config.uiRoot}/jobs/${encodeURIComponent(jobId)}${suffix}`;
}

/**
 * Encode one path segment the way Airflow's frame will read it back. Airflow mirrors the framed
 * page's path into its own URL, decodes it, and reloads the frame when the path it rebuilds differs:
 * a run id's ":" and "+" escaped as %3A and %2B would load the run's page twice, the first load's
 * requests aborted. They, and the other characters a path segment may hold as they are, stay.
 */
export function pathSegment(value) {
  return encodeURIComponent(value).replace(/%(3A|40|24|26|2B|2C|3B|3D)/gi, (escaped) => decodeURIComponent(escaped));
}

export function runUrl(jobId, runId) {
  return `${config.uiRoot}/jobs/${encodeURIComponent(jobId)}/runs/${pathSegment(runId)}`;
}

/** Call fn every `seconds` while the page is visible; returns a function that stops it. */
export function every(seconds, fn) {
  let timer = null;
  let stopped = false;
  const tick = async () => {
    if (stopped) return;
    if (document.visibilityState === "visible") {
      try {
        await fn();
      } catch (error) {
        // shown by fn; keep polling
      }
    }
    if (!stopped) timer = setTimeout(tick, seconds * 1000);
  };
  timer = setTimeout(tick, seconds * 1000);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

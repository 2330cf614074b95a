// What every page shares: the API client (with the CSRF header), DOM building without HTML
// strings (every value goes in as text), dates, state badges, copy, confirmation, notices.

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
  return `The server answered ${status}`;
}

async function request(url, { method = "GET", json, headers = {} } = {}) {
  const options = {
    method,
    credentials: "same-origin",
    headers: { Accept: "application/json", [CSRF_HEADER]: "http-trigger-ui", [CHANNEL_HEADER]: "page", ...headers },
  };
  if (json !== undefined) {
    options.headers["Content-Type"] = "application/json";
    options.body = JSON.stringify(json);
  }
  let response;
  try {
    response = await fetch(url, options);
  } catch (error) {
    throw new ApiError(0, "The Airflow API server cannot be reached; check your connection and retry");
  }
  if (response.status === 401) {
    showLoginNotice();
    throw new ApiError(401, "Your Airflow login has ended; log in again");
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

const pad = (value) => String(value).padStart(2, "0");

// Airflow's UI keeps the time zone the user picked (its clock menu) in local storage; same origin.
function airflowTimeZone() {
  try {
    const saved = window.localStorage.getItem("timezone");
    if (!saved) return undefined;
    const zone = saved.startsWith('"') ? JSON.parse(saved) : saved;
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone;
  } catch (error) {
    return undefined; // none saved, or not a zone this browser knows: the browser's own
  }
}

const dateParts = new Intl.DateTimeFormat("en-US", {
  timeZone: airflowTimeZone(),
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hourCycle: "h23",
});

/** Show an ISO date in Airflow's chosen time zone: 2026-01-31 09:05:03. */
export function formatDate(value) {
  if (!value) return "–";
  const date = new Date(value);
  if (Number.isNaN(date.getTime())) return String(value);
  const part = Object.fromEntries(dateParts.formatToParts(date).map(({ type, value: text }) => [type, text]));
  return `${part.year}-${part.month}-${part.day} ${part.hour}:${part.minute}:${part.second}`;
}

/** Show a duration in seconds as 4.2 s, 3 min 05 s or 2 h 03 min. */
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  if (seconds < 60) return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${pad(Math.round(seconds % 60))} s`;
  return `${Math.floor(minutes / 60)} h ${pad(minutes % 60)} min`;
}

export const FINISHED = new Set(["success", "failed", "skipped", "upstream_failed", "removed"]);

const STATE_LABELS = { upstream_failed: "upstream failed", up_for_retry: "up for retry", up_for_reschedule: "up for reschedule" };

/** A coloured state badge, as Airflow shows run and task states. */
export function stateBadge(state) {
  const name = state || "none";
  return el("span", { class: `badge state state-${name}`, "data-state": name }, STATE_LABELS[name] || (state ? name : "no status"));
}

/**
 * A run's badge: its state, or an amber one when the action succeeded but a notification failed,
 * which Airflow's state alone reads as a plain success.
 */
export function runBadge(run) {
  const badge = run.outcome === "succeeded_with_warnings"
    ? el(
      "span",
      { class: "badge state state-warning", "data-state": run.state, title: "The action succeeded; a post-processing step failed" },
      "success, notification failed",
    )
    : stateBadge(run.state);
  badge.dataset.outcome = run.outcome;
  return badge;
}

const SOURCE_LABELS = { http: "HTTP", schedule: "Schedule", manual: "Manual", cli: "CLI", backfill: "Backfill", asset: "Asset" };

export function sourceLabel(source) {
  return SOURCE_LABELS[source] || source || "–";
}

/** Who started a run, the same wherever runs are listed or shown: an HTTP caller's address, else the user. */
export function callerLabel(run) {
  if (run.trigger_source === "http") return run.caller_address || "unknown address";
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

/** Wire a button to copy what getText() returns, showing "Copied" briefly. */
export function copyButton(button, getText) {
  const label = button.textContent;
  button.addEventListener("click", async () => {
    const copied = await copyText(getText());
    button.textContent = copied ? "Copied" : "Copy failed";
    setTimeout(() => {
      button.textContent = label;
    }, 1500);
  });
}

/** Ask for confirmation in the page's dialog (Airflow's frame does not allow window.confirm). */
export function confirmAction({ title, message, confirmLabel = "Confirm", danger = false }) {
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

function describeParameters(parameters) {
  const entries = Object.entries(parameters);
  if (!entries.length) return [", with the action's defaults."];
  return [", with ", el("span", { class: "mono" }, entries.map(([key, value]) => `${key}: ${JSON.stringify(value)}`).join(", ")), "."];
}

/**
 * Ask before starting a run of `job` now, naming the job, its AWS action, the connection's account
 * and the parameters: `null` for the job's own (fixed) ones, else those given for this run.
 */
export function confirmRunNow(job, catalogue, parameters = null) {
  const where = `${job.action.aws_conn_id}${job.action.region ? ` in ${job.action.region}` : ""}`;
  return confirmAction({
    title: `Start “${job.name}” now?`,
    message: [
      `This runs ${actionTitle(catalogue, job.action.type)} now, on the AWS account of connection ${where}`,
      ...(parameters === null ? [", with the job's parameters."] : describeParameters(parameters)),
    ],
    confirmLabel: "Start run",
  });
}

/**
 * Ask, then copy `job` into a new job (its own URL and token, disabled) and open the copy's page.
 * Resolves false when the user cancelled or the copy failed (the error is shown).
 */
export async function duplicateJob(job) {
  const confirmed = await confirmAction({
    title: `Duplicate “${job.name}”?`,
    message:
      "A new job is created with the same action, parameters, schedule, post-processing and group, " +
      "and its own URL and access token. It starts disabled, so it does not run until you enable it.",
    confirmLabel: "Duplicate job",
  });
  if (!confirmed) return false;
  let copy;
  try {
    copy = await api(`/jobs/${encodeURIComponent(job.id)}/duplicate`, { method: "POST" });
  } catch (error) {
    showError(error, "The job was not duplicated: ");
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
  notify(["Your Airflow login has ended. ", airflowLink(url, "Log in again"), " to continue."], "error", { sticky: true });
}

/** Show an error from the API as a notice (a 401 already shows the login notice). */
export function showError(error, prefix = "") {
  if (error instanceof ApiError && error.status === 401) return;
  notify(`${prefix}${error.message || error}`, "error");
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

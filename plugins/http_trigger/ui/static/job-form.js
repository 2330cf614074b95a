// Create or edit a job step by step, in the seed's order: group → trigger → action → AWS account →
// parameter mode → parameters → post-processing → name → Confirm. "Next" checks the step against the
// schemas the page has (the job model's, the action's, each post-processing kind's: required fields,
// lengths, bounds, patterns such as a region's), then asks the API what only it can tell (a cron
// expression, rules across fields) with POST /jobs/validate, and shows every problem of the step at
// once, each next to its field, in the API's words. Editing, the form is filled with the job as the
// API shows it, secrets masked: a masked value left as it is keeps the secret.
//
// The step is in the page's URL (`?step=3`, or a step's name, e.g. `?step=parameters`), one history
// entry per step, so the browser's Back and Forward move between steps, a reload keeps the step
// when the steps before it are valid, and the job's page links to the step that edits a setting.
// What was typed is never lost silently: leaving by a link (Cancel, the breadcrumb) or closing or
// reloading the page asks first while there are unsaved changes.

import {
  airflowApi, api, config, confirmAction, el, jobUrl, mirrorInAirflow, notify, readCatalogue, setContent, showError,
} from "./common.js";
import { t, tParts } from "./i18n.js";
import { askForValue, checkValues, exampleBody, locKey, schemaForm } from "./schema-form.js";

const catalogue = readCatalogue();
const editing = document.body.dataset.page === "edit";
const form = document.getElementById("job-form");
const sections = [...form.querySelectorAll("section.step")];
const stepNames = sections.map((section) => section.dataset.step);
// Which fields of the body each step edits: an error under one of these paths belongs to that step.
const STEP_FIELDS = {
  group: [["group"]],
  trigger: [["schedule"]],
  action: [["action", "type"]],
  account: [["action", "aws_conn_id"], ["action", "region"]],
  mode: [["action", "parameters_at_execution"]],
  parameters: [["action", "parameters"]],
  post: [["post_processing"]],
  name: [["name"], ["description"], ["tags"], ["enabled"]],
  confirm: [],
};

const $ = (id) => document.getElementById(id);
const inputs = {
  group: $("group"),
  useSchedule: $("use-schedule"),
  schedule: $("schedule"),
  actionType: $("action-type"),
  connSelect: $("aws-conn-id"),
  connText: $("aws-conn-id-text"),
  region: $("region"),
  name: $("name"),
  description: $("description"),
  tags: $("tags"),
  enabled: $("enabled"),
};

let current = 0;
let furthest = 0;
let changed = false; // the user changed something since the page opened
let leaving = false; // saved, or the user chose to discard: leave without asking
let job = null; // the job being edited, with its version
let parameterForm = null;
let parameterType = null;
const postItems = { on_success: [], on_failure: [] };
let definitions = []; // the shared post-processing definitions a step may reference

// ---- reading the form --------------------------------------------------------------------------

function parameterMode() {
  return form.querySelector("input[name=parameter_mode]:checked").value;
}

function connectionId() {
  return (inputs.connSelect.hidden ? inputs.connText.value : inputs.connSelect.value).trim();
}

function readBody() {
  const atExecution = parameterMode() === "execution";
  return {
    name: inputs.name.value.trim(),
    group: inputs.group.value.trim(),
    description: inputs.description.value.trim(),
    enabled: inputs.enabled.checked,
    schedule: inputs.useSchedule.checked && inputs.schedule.value.trim() ? inputs.schedule.value.trim() : null,
    tags: inputs.tags.value.split(",").map((tag) => tag.trim()).filter(Boolean),
    action: {
      type: inputs.actionType.value,
      aws_conn_id: connectionId(),
      region: inputs.region.value.trim() || null,
      parameters_at_execution: atExecution,
      parameters: atExecution || !parameterForm ? {} : parameterForm.read(),
    },
    post_processing: {
      on_success: postItems.on_success.map((item) => item.read()),
      on_failure: postItems.on_failure.map((item) => item.read()),
    },
  };
}

// ---- errors next to their fields ----------------------------------------------------------------

function clearErrors() {
  for (const slot of form.querySelectorAll(".field-error")) slot.replaceChildren();
  for (const input of form.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  for (const item of document.querySelectorAll("#step-list li")) item.classList.remove("has-error");
  $("form-error").hidden = true;
}

function slotFor(loc) {
  for (let length = loc.length; length > 0; length -= 1) {
    const slot = form.querySelector(`[data-error-for="${CSS.escape(locKey(loc.slice(0, length)))}"]`);
    if (slot) return slot;
  }
  return null;
}

function stepOf(loc) {
  const index = stepNames.findIndex((name) =>
    STEP_FIELDS[name].some((prefix) => prefix.every((part, at) => String(loc[at]) === String(part))),
  );
  return index < 0 ? null : index;
}

/** Show each error once, at the closest field of its path; return the steps that have errors. */
function showFieldErrors(errors) {
  const steps = new Set();
  const unplaced = [];
  const shown = new Set();
  for (const error of errors) {
    const slot = slotFor(error.loc);
    const step = stepOf(error.loc);
    if (step !== null) steps.add(step);
    const seen = `${slot ? slot.dataset.errorFor : ""}\n${error.msg}`;
    if (shown.has(seen)) continue;
    shown.add(seen);
    if (!slot) {
      unplaced.push(`${locKey(error.loc)}: ${error.msg}`);
      continue;
    }
    slot.append(el("span", { class: "message" }, error.msg), " ");
    const field = slot.closest(".field, fieldset, .post-item, section");
    const input = field && field.querySelector("input:not([type=radio]):not([type=checkbox]), select, textarea");
    if (input) input.setAttribute("aria-invalid", "true");
  }
  for (const step of steps) document.querySelectorAll("#step-list li")[step].classList.add("has-error");
  if (unplaced.length) {
    setContent($("form-error"), unplaced.join(" · "));
    $("form-error").hidden = false;
  }
  return steps;
}

/** The problems of a job body as the API places them (["body", …]), placed in the body. */
function inBody(problems) {
  return problems.map((item) => ({
    loc: (item.loc || []).filter((part, at) => !(at === 0 && part === "body")),
    msg: item.msg,
  }));
}

function errorsOf(apiError) {
  if (apiError.status !== 422 || !Array.isArray(apiError.detail)) return null;
  return inBody(apiError.detail);
}

/** What the page itself can tell is wrong with the body, from the schemas it has. */
function formProblems(body) {
  const problems = checkValues(catalogue.job_schema, body);
  // An empty cron expression would mean no schedule: ticked, the box asks for one.
  if (inputs.useSchedule.checked && body.schedule === null) {
    problems.push({ loc: ["schedule"], msg: askForValue(catalogue.job_schema, "schedule") });
  }
  const action = currentAction();
  if (action && !body.action.parameters_at_execution) {
    problems.push(...checkValues(action.parameters_schema, body.action.parameters, { loc: ["action", "parameters"] }));
  }
  for (const [when, steps] of Object.entries(body.post_processing)) {
    steps.forEach((step, index) => {
      const kind = kindOf(step.type);
      const loc = ["post_processing", when, index, "parameters"];
      if (kind) problems.push(...checkValues(kind.parameters_schema, step.parameters, { loc }));
    });
  }
  return problems;
}

/**
 * Check the job as it stands: the page's own checks, then the API's for what only it can tell;
 * return every problem (an empty list when there is none), one per field, the page's first.
 */
async function validate() {
  const body = readBody();
  const found = formProblems(body);
  const answer = await api("/jobs/validate", { method: "POST", json: body });
  const placed = new Set(found.map((problem) => locKey(problem.loc)));
  return [...found, ...inBody(answer.problems).filter((problem) => !placed.has(locKey(problem.loc)))];
}

// ---- steps ----------------------------------------------------------------------------------------

function renderStepList() {
  const list = $("step-list");
  setContent(
    list,
    sections.map((section, index) => {
      const done = index !== current && index <= furthest;
      return el(
        "li",
        { class: index === current ? "current" : done ? "done" : "" },
        el(
          "button",
          {
            type: "button",
            disabled: index > furthest,
            "aria-current": index === current ? "step" : false,
            onclick: () => goTo(index),
          },
          el("span", { class: "num", "aria-hidden": "true" }, done ? "✓" : String(index + 1)),
          section.dataset.title,
        ),
      );
    }),
  );
}

/** The step the URL asks for: a number from 1, or a step's name; the first step otherwise. */
function requestedStep() {
  const asked = new URLSearchParams(window.location.search).get("step");
  if (!asked) return 0;
  if (stepNames.includes(asked)) return stepNames.indexOf(asked);
  const number = Number(asked);
  return Number.isInteger(number) && number >= 1 && number <= stepNames.length ? number - 1 : 0;
}

function stepUrl(index) {
  const query = new URLSearchParams(window.location.search);
  query.set("step", String(index + 1));
  return `${window.location.pathname}?${query}`;
}

/**
 * Show step `index`; `history` says whether it is a new entry of the browser's history ("push", a
 * step the user went to), the current one ("replace") or already there ("none", Back or Forward).
 */
function goTo(index, { history = "push" } = {}) {
  if (history === "push" && index !== current) window.history.pushState({ step: index }, "", stepUrl(index));
  else if (history !== "none") window.history.replaceState({ step: index }, "", stepUrl(index));
  mirrorInAirflow();
  current = index;
  furthest = Math.max(furthest, index);
  sections.forEach((section, at) => {
    section.hidden = at !== index;
  });
  if (stepNames[index] === "parameters") showParameterMode();
  if (stepNames[index] === "confirm") renderSummary();
  $("back").disabled = index === 0;
  $("next").textContent = stepNames[index] === "confirm" ? t(editing ? "form.save" : "form.create") : t("form.next");
  renderStepList();
  const heading = sections[index].querySelector("h2");
  heading.setAttribute("tabindex", "-1");
  heading.focus({ preventScroll: true });
  window.scrollTo({ top: 0 });
}

async function next() {
  const name = stepNames[current];
  if (name === "confirm") return save();
  clearErrors();
  $("next").disabled = true;
  try {
    const errors = await validate();
    const mine = errors.filter((error) => stepOf(error.loc) === current);
    if (mine.length) {
      showFieldErrors(mine);
      return;
    }
    goTo(current + 1);
  } catch (error) {
    showError(error);
  } finally {
    $("next").disabled = false;
  }
}

async function save() {
  clearErrors();
  $("next").disabled = true;
  try {
    const errors = await validate();
    if (errors.length) {
      const steps = errors.map((error) => stepOf(error.loc)).filter((step) => step !== null);
      if (steps.length) goTo(Math.min(...steps));
      showFieldErrors(errors);
      return;
    }
    const body = readBody();
    const saved = editing
      ? await api(`/jobs/${config.jobId}`, { method: "PUT", json: body, headers: { "If-Match": job.version } })
      : await api("/jobs", { method: "POST", json: body });
    leaving = true;
    window.location.assign(jobUrl(saved.id, editing ? "?saved=1" : "?created=1"));
  } catch (error) {
    const errors = errorsOf(error);
    if (errors) showFieldErrors(errors);
    else if (error.status === 409) {
      setContent($("form-error"), t("form.conflict", { error: error.message }));
      $("form-error").hidden = false;
    } else showError(error);
  } finally {
    $("next").disabled = false;
  }
}

// ---- trigger, action, account ----------------------------------------------------------------------

function showSchedule() {
  $("schedule-field").hidden = !inputs.useSchedule.checked;
}

function currentAction() {
  return catalogue.actions.find((action) => action.name === inputs.actionType.value) || null;
}

function renderParameters(values) {
  const action = currentAction();
  parameterType = action ? action.name : null;
  const holder = $("parameters-form");
  if (!action) {
    setContent(holder);
    parameterForm = null;
    return;
  }
  parameterForm = schemaForm(action.parameters_schema, { loc: ["action", "parameters"], values: values || {} });
  setContent(holder, parameterForm.node);
  setContent($("parameters-example"), JSON.stringify(exampleBody(action.parameters_schema), null, 2));
}

function showParameterMode() {
  const atExecution = parameterMode() === "execution";
  $("parameters-form").hidden = atExecution;
  $("parameters-at-execution").hidden = !atExecution;
}

function onActionChange() {
  const action = currentAction();
  setContent($("action-description"), action ? action.description : "");
  if (!action || action.name !== parameterType) {
    const keep = job && job.action.type === inputs.actionType.value ? job.action.parameters : {};
    renderParameters(keep);
  }
}

async function listAwsConnections() {
  const found = [];
  for (let offset = 0; offset < 2000; offset += 100) {
    const page = await airflowApi(`/connections?limit=100&offset=${offset}&order_by=connection_id`);
    found.push(...page.connections.filter((connection) => connection.conn_type === "aws"));
    if (offset + 100 >= page.total_entries) break;
  }
  return found;
}

async function loadConnections(selected) {
  let connections = null;
  try {
    connections = await listAwsConnections();
  } catch (error) {
    connections = null; // e.g. not allowed to read connections: type the id instead
  }
  if (connections && connections.length) {
    const ids = connections.map((connection) => connection.connection_id);
    setContent(
      inputs.connSelect,
      connections.map((connection) =>
        el("option", { value: connection.connection_id }, connection.connection_id, connection.description ? ` — ${connection.description}` : ""),
      ),
      selected && !ids.includes(selected) ? el("option", { value: selected }, selected) : null,
    );
    inputs.connSelect.value = selected || ids[0];
    inputs.connSelect.hidden = false;
    inputs.connText.hidden = true;
    setContent($("aws-conn-help"), t("form.account.connections_help"));
  } else {
    inputs.connSelect.hidden = true;
    inputs.connText.hidden = false;
    inputs.connText.value = selected || "";
    inputs.connText.id = "aws-conn-id";
    inputs.connSelect.id = "aws-conn-id-select";
    setContent(
      $("aws-conn-help"),
      connections === null
        ? t("form.account.connections_denied")
        : t("form.account.no_connections"),
    );
  }
}

// ---- post-processing -----------------------------------------------------------------------------

function kindOf(name) {
  return catalogue.post_processing.find((kind) => kind.name === name) || null;
}

/** An inline step's fields: its kind, the kind's parameters and the step's settings. */
function inlineStep(loc, spec) {
  const typeId = `post-${loc[1]}-${loc[2]}-type`;
  const select = el(
    "select",
    { id: typeId, "data-post-type": "" },
    catalogue.post_processing.map((kind) => el("option", { value: kind.name }, kind.title)),
  );
  select.value = spec.type || catalogue.post_processing[0].name;
  const { type, parameters, ...settings } = spec;
  const settingsForm = schemaForm(catalogue.post_processing_step, { loc, values: settings });
  const parametersHolder = el("div", { "data-loc": locKey([...loc, "parameters"]) });
  const description = el("p", { class: "help" });
  let parametersForm = null;
  const renderKind = (values) => {
    const kind = kindOf(select.value);
    setContent(description, kind ? kind.description || "" : "");
    parametersForm = kind ? schemaForm(kind.parameters_schema, { loc: [...loc, "parameters"], values }) : null;
    setContent(parametersHolder, parametersForm ? parametersForm.node : null);
  };
  renderKind(parameters || {});
  select.addEventListener("change", () => renderKind({}));
  const node = el(
    "div",
    {},
    el("div", { class: "field", "data-loc": locKey([...loc, "type"]) }, el("label", { for: typeId }, t("form.post.kind")), select),
    description,
    el("p", { class: "field-error", "data-error-for": locKey([...loc, "type"]) }),
    el("p", { class: "field-error", "data-error-for": locKey([...loc, "parameters"]) }),
    parametersHolder,
    settingsForm.node,
  );
  return {
    node,
    read: () => ({ type: select.value, ...settingsForm.read(), parameters: parametersForm ? parametersForm.read() : {} }),
  };
}

/** A step that references a shared definition: which one, and a link to it. */
function sharedStep(loc, spec) {
  const refId = `post-${loc[1]}-${loc[2]}-ref`;
  const names = definitions.map((definition) => definition.name);
  if (spec.ref && !names.includes(spec.ref)) names.push(spec.ref); // one the user may not list, or gone
  const select = el("select", { id: refId, "data-post-ref": "" }, names.map((name) => el("option", { value: name }, name)));
  select.value = spec.ref || names[0] || "";
  const about = el("p", { class: "help" });
  const describe = () => {
    const definition = definitions.find((item) => item.name === select.value);
    const kind = definition && kindOf(definition.type);
    setContent(
      about,
      kind ? `${t("form.post.shared_about", { kind: kind.title })} ` : "",
      select.value ? el("a", { href: `${config.uiRoot}/post-processing/${encodeURIComponent(select.value)}`, target: "_blank" }, t("form.post.open_definition")) : "",
    );
  };
  describe();
  select.addEventListener("change", describe);
  const node = el(
    "div",
    { class: "field", "data-loc": locKey([...loc, "ref"]) },
    el("label", { for: refId }, t("form.post.shared_label")),
    select,
    about,
    el("p", { class: "field-error", "data-error-for": locKey([...loc, "ref"]) }),
  );
  return { node, read: () => ({ ref: select.value }) };
}

function postItem(when, index, spec) {
  const loc = ["post_processing", when, index];
  const sourceId = `post-${when}-${index}-source`;
  const shared = spec.ref !== undefined;
  const source = el(
    "select",
    { id: sourceId, "data-post-source": "" },
    el("option", { value: "inline" }, t("form.post.inline")),
    el("option", { value: "shared", disabled: !shared && !definitions.length }, t("form.post.shared")),
  );
  source.value = shared ? "shared" : "inline";
  const holder = el("div");
  let step = null;
  const render = (value) => {
    step = source.value === "shared" ? sharedStep(loc, value) : inlineStep(loc, value);
    setContent(holder, step.node);
  };
  render(spec);
  source.addEventListener("change", () =>
    render(source.value === "shared" ? {} : { type: catalogue.post_processing[0].name, parameters: {} }),
  );
  const node = el(
    "div",
    { class: "post-item", "data-loc": locKey(loc) },
    el(
      "header",
      {},
      el("div", { class: "field" }, el("label", { for: sourceId }, t("form.post.step")), source),
      el("button", { type: "button", class: "button small danger", onclick: () => removePost(when, index) }, t("form.post.remove")),
    ),
    el("p", { class: "field-error", "data-error-for": locKey(loc) }),
    holder,
  );
  return { node, read: () => step.read() };
}

function renderPostList(when, specs) {
  postItems[when] = specs.map((spec, index) => postItem(when, index, spec));
  setContent($(`post-${when}`), postItems[when].map((item) => item.node));
}

function removePost(when, index) {
  changed = true;
  const specs = postItems[when].map((item) => item.read());
  specs.splice(index, 1);
  renderPostList(when, specs);
}

function addPost(when) {
  changed = true;
  const specs = postItems[when].map((item) => item.read());
  specs.push({ type: catalogue.post_processing[0].name, parameters: {} });
  renderPostList(when, specs);
  const added = postItems[when][specs.length - 1].node.querySelector("select");
  if (added) added.focus();
}

// ---- confirm -----------------------------------------------------------------------------------

function secretKeys(schema) {
  return new Set(
    Object.entries((schema && schema.properties) || {})
      .filter(([, property]) => JSON.stringify(property).includes('"format":"password"'))
      .map(([name]) => name),
  );
}

function describeValues(values, schema) {
  const hidden = secretKeys(schema);
  const entries = Object.entries(values || {});
  if (!entries.length) return t("common.none");
  return el(
    "ul",
    { class: "plain" },
    entries.map(([key, value]) =>
      el("li", {}, el("span", { class: "mono" }, key), ": ", hidden.has(key) ? "••••••" : typeof value === "string" ? value : JSON.stringify(value)),
    ),
  );
}

function describePost(items) {
  if (!items.length) return t("common.none");
  return el(
    "ul",
    { class: "plain" },
    items.map((item) => {
      if (item.ref !== undefined) return el("li", {}, el("strong", {}, t("form.post.shared_label")), " ", el("span", { class: "mono" }, item.ref));
      const kind = kindOf(item.type);
      const { type, parameters, ...settings } = item;
      return el("li", {}, el("strong", {}, kind ? kind.title : type), describeValues({ ...parameters, ...settings }, kind && kind.parameters_schema));
    }),
  );
}

/** The AWS account of an action as the summary shows it: its connection, in its region if one is set. */
function accountOf(action) {
  const connection = el("code", {}, action.aws_conn_id || "–");
  return action.region ? tParts("aws.connection_in_region", { connection, region: action.region }) : connection;
}

function renderSummary() {
  const body = readBody();
  const action = currentAction();
  const rows = [
    [t("job.group"), body.group],
    [
      t("job.trigger"),
      body.schedule ? tParts("detail.trigger_with_schedule", { schedule: el("code", {}, body.schedule) }) : t("job.http_trigger"),
    ],
    [t("job.action"), action ? [action.title, el("span", { class: "sub" }, action.description)] : body.action.type],
    [t("job.aws_account"), accountOf(body.action)],
    [
      t("run.parameters"),
      body.action.parameters_at_execution ? t("detail.parameters_at_execution") : t("form.summary.parameters_fixed"),
    ],
  ];
  if (!body.action.parameters_at_execution) {
    rows.push([t("form.summary.parameter_values"), describeValues(body.action.parameters, action && action.parameters_schema)]);
  }
  rows.push(
    [t("job.on_success"), describePost(body.post_processing.on_success)],
    [t("job.on_failure"), describePost(body.post_processing.on_failure)],
    [t("job.name"), body.name || "–"],
  );
  if (body.description) rows.push([t("job.description"), body.description]);
  if (body.tags.length) rows.push([t("job.tags"), body.tags.join(", ")]);
  rows.push([t("jobs.enabled"), body.enabled ? t("form.summary.enabled_yes") : t("form.summary.enabled_no")]);
  setContent($("summary"), rows.map(([term, value]) => [el("dt", {}, term), el("dd", {}, value)]));
}

// ---- leaving with unsaved changes ------------------------------------------------------------------

function unsaved() {
  return changed && !leaving;
}

function confirmDiscard() {
  return confirmAction({
    title: t("form.leave.title"),
    message: t(editing ? "form.leave.edit" : "form.leave.create"),
    confirmLabel: t("form.leave.confirm"),
    danger: true,
  });
}

/** Ask before a link takes the user away from unsaved changes (the page's own dialog: Airflow's frame allows no other). */
async function onLinkClick(event) {
  const link = event.target.closest("a[href]");
  if (!link || !unsaved() || event.defaultPrevented) return;
  if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || link.target === "_blank") return;
  event.preventDefault();
  if (!(await confirmDiscard())) return;
  leaving = true;
  window.location.assign(link.href);
}

function watchForLeaving() {
  // Events of the user's own input only: what the page fills in itself changes nothing.
  form.addEventListener("input", () => {
    changed = true;
  });
  form.addEventListener("change", () => {
    changed = true;
  });
  document.addEventListener("click", onLinkClick);
  // Closing the tab, reloading, or going back past the first step: the browser's own question.
  window.addEventListener("beforeunload", (event) => {
    if (!unsaved()) return;
    event.preventDefault();
    event.returnValue = "";
  });
  window.addEventListener("popstate", (event) => {
    const asked = event.state && Number.isInteger(event.state.step) ? event.state.step : requestedStep();
    // A step beyond those reached (history kept across a reload) shows the furthest one reached.
    goTo(Math.min(asked, furthest), { history: asked > furthest ? "replace" : "none" });
  });
}

/** The step to open: the one asked for, unless a step before it needs fixing (a new job's, after a reload). */
async function firstStep() {
  const asked = requestedStep();
  if (editing || asked === 0) return asked;
  try {
    const errors = await validate();
    const steps = errors.map((error) => stepOf(error.loc)).filter((step) => step !== null);
    return Math.min(asked, ...steps);
  } catch (error) {
    return 0;
  }
}

// ---- start ----------------------------------------------------------------------------------------

function fill(existing) {
  inputs.group.value = existing.group;
  inputs.useSchedule.checked = Boolean(existing.schedule);
  inputs.schedule.value = existing.schedule || "";
  inputs.actionType.value = existing.action.type;
  inputs.region.value = existing.action.region || "";
  form.querySelector(`input[name=parameter_mode][value=${existing.action.parameters_at_execution ? "execution" : "creation"}]`).checked = true;
  inputs.name.value = existing.name;
  inputs.description.value = existing.description || "";
  inputs.tags.value = (existing.tags || []).join(", ");
  inputs.enabled.checked = existing.enabled;
  renderPostList("on_success", existing.post_processing.on_success);
  renderPostList("on_failure", existing.post_processing.on_failure);
}

async function loadActions() {
  // The action catalogue as the API serves it to every client; the embedded copy is the fallback.
  try {
    const data = await api("/actions");
    if (data.actions.length) catalogue.actions = data.actions;
  } catch (error) {
    // keep the catalogue embedded in the page
  }
}

async function loadDefinitions() {
  // Only users who may read every job may list them; the others keep inline steps.
  try {
    definitions = (await api("/post-processing")).definitions;
  } catch (error) {
    definitions = [];
  }
}

async function start() {
  watchForLeaving(); // first: what a quick user types while the page loads counts too
  await Promise.all([loadActions(), loadDefinitions()]);
  setContent(
    inputs.actionType,
    el("option", { value: "" }, t("form.action.choose")),
    catalogue.actions.map((action) => el("option", { value: action.name }, action.title)),
  );
  inputs.useSchedule.addEventListener("change", showSchedule);
  inputs.actionType.addEventListener("change", onActionChange);
  for (const radio of form.querySelectorAll("input[name=parameter_mode]")) radio.addEventListener("change", showParameterMode);
  for (const button of form.querySelectorAll("[data-add-post]")) button.addEventListener("click", () => addPost(button.dataset.addPost));
  $("back").addEventListener("click", () => current > 0 && goTo(current - 1));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    next();
  });

  if (editing) {
    try {
      job = await api(`/jobs/${config.jobId}`);
    } catch (error) {
      showError(error, "detail.not_loaded");
      return;
    }
    if (!job.can_edit) {
      notify(t("form.edit_denied"), "error", { sticky: true });
      return;
    }
    fill(job);
    // "Enabled" only decides how a new job starts; an existing one is switched on its detail page.
    form.querySelector('[data-loc="enabled"]').hidden = true;
    setContent($("form-title"), t("form.heading_edit_named", { name: job.name }));
    setContent($("crumb-job"), job.name);
    furthest = stepNames.length - 1;
  } else {
    renderPostList("on_success", []);
    renderPostList("on_failure", []);
    if (!config.canCreate) notify(t("form.create_denied"), "error", { sticky: true });
  }
  onActionChange();
  if (editing) renderParameters(job.action.parameters);
  showSchedule();
  const first = await firstStep();
  furthest = Math.max(furthest, first);
  goTo(first, { history: "replace" });
  loadConnections(job ? job.action.aws_conn_id : null);
  api("/jobs?limit=1")
    .then((data) => setContent($("group-options"), data.groups.map((group) => el("option", { value: group }))))
    .catch(() => {});
  // The page ships with Next disabled: before the handlers above exist, a click would submit the
  // form natively and reload the page, losing what was typed.
  $("next").disabled = false;
}

start();

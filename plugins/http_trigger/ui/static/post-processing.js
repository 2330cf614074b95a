// The shared post-processing definitions: the list (name, type, the jobs using each), and for users
// who may change them a form to create or edit one and Delete, which the API refuses while jobs use
// the definition (the notice names them). The form is generated from the kind's parameter schema, as
// the job form's steps are; secrets read masked, and a masked value left as it is keeps the secret.
// Opened as …/post-processing/<name>, the page opens that definition's form.

import { api, config, confirmAction, el, jobUrl, notify, readCatalogue, setContent, showError } from "./common.js";
import { t, tParts } from "./i18n.js";
import { schemaForm } from "./schema-form.js";

const catalogue = readCatalogue();
const $ = (id) => document.getElementById(id);
const form = $("definition-form");
const opened = $("page-title").dataset.definitionName;
let definitions = [];
let editing = null; // the definition whose form is open, or null for a new one
let parametersForm = null;
let settingsForm = null;

function kindOf(name) {
  return catalogue.post_processing.find((kind) => kind.name === name) || null;
}

function definitionUrl(name) {
  return `${config.uiRoot}/post-processing/${encodeURIComponent(name)}`;
}

function usedBy(definition) {
  if (!definition.used_by.length) return t("common.none");
  return definition.used_by.map((job, index) => [index ? ", " : "", el("a", { href: jobUrl(job.id) }, job.name)]);
}

function row(definition) {
  const kind = kindOf(definition.type);
  const controls = definition.can_edit
    ? [
        el("button", { type: "button", class: "button small", onclick: () => openForm(definition) }, t("common.edit")),
        " ",
        el("button", { type: "button", class: "button small danger", onclick: () => remove(definition) }, t("common.delete")),
      ]
    : [];
  return el(
    "tr",
    { "data-definition": definition.name },
    el("td", {}, el("a", { href: definitionUrl(definition.name), class: "mono" }, definition.name)),
    el("td", {}, kind ? kind.title : definition.type),
    el("td", { class: "used-by" }, usedBy(definition)),
    el("td", { class: "controls" }, controls),
  );
}

async function load() {
  let data;
  try {
    data = await api("/post-processing");
  } catch (error) {
    showError(error, "definitions.not_loaded");
    return;
  }
  definitions = data.definitions;
  setContent(
    $("definitions-body"),
    definitions.length ? definitions.map(row) : el("tr", {}, el("td", { colspan: 4, class: "empty" }, t("definitions.none_yet"))),
  );
  setContent($("spec-errors"), data.spec_errors.map((error) => el("li", {}, error.message)));
  $("spec-errors").hidden = !data.spec_errors.length;
}

function renderKind(values = {}, settings = {}) {
  const kind = kindOf($("definition-type").value);
  setContent($("definition-type-help"), kind ? kind.description || "" : "");
  parametersForm = kind ? schemaForm(kind.parameters_schema, { loc: ["parameters"], values }) : null;
  setContent($("definition-parameters"), parametersForm ? parametersForm.node : null);
  settingsForm = schemaForm(catalogue.post_processing_step, { loc: [], values: settings });
  setContent($("definition-settings"), settingsForm.node);
}

function openForm(definition = null) {
  editing = definition;
  const readOnly = definition !== null && !definition.can_edit;
  setContent($("definition-form-title"), definition ? t("definitions.named", { name: definition.name }) : t("definitions.new"));
  $("definition-name").value = definition ? definition.name : "";
  $("definition-type").value = definition ? definition.type : catalogue.post_processing[0].name;
  const { name, type, parameters, version, used_by: users, can_edit: canEdit, masked_fields: masked, ...settings } = definition || {};
  renderKind(parameters || {}, settings);
  setContent($("definition-users"), definition ? tParts("definitions.users", { jobs: el("span", {}, usedBy(definition)) }) : "");
  for (const input of form.querySelectorAll("input, select, textarea")) input.disabled = readOnly;
  $("definition-name").disabled = definition !== null; // the name is the definition's file: it never changes
  $("save-definition").hidden = readOnly;
  form.hidden = false;
  (definition ? $("definition-type") : $("definition-name")).focus();
}

function readBody() {
  return {
    type: $("definition-type").value,
    ...settingsForm.read(),
    parameters: parametersForm ? parametersForm.read() : {},
  };
}

async function save(event) {
  event.preventDefault();
  const body = readBody();
  try {
    if (editing) {
      await api(`/post-processing/${encodeURIComponent(editing.name)}`, {
        method: "PUT",
        json: body,
        headers: { "If-Match": editing.version },
      });
      notify(t("definitions.saved", { name: editing.name }), "ok");
    } else {
      const name = $("definition-name").value.trim();
      await api("/post-processing", { method: "POST", json: { name, ...body } });
      notify(t("definitions.created", { name }), "ok");
    }
  } catch (error) {
    showError(error, "definitions.not_saved");
    return;
  }
  form.hidden = true;
  await load();
}

async function remove(definition) {
  const confirmed = await confirmAction({
    title: t("definitions.delete_title", { name: definition.name }),
    message: t("definitions.delete_message"),
    confirmLabel: t("common.delete"),
    danger: true,
  });
  if (!confirmed) return;
  try {
    await api(`/post-processing/${encodeURIComponent(definition.name)}`, { method: "DELETE" });
  } catch (error) {
    showError(error, "definitions.not_deleted");
    return;
  }
  notify(t("definitions.deleted", { name: definition.name }), "ok");
  if (editing && editing.name === definition.name) form.hidden = true;
  await load();
}

async function start() {
  setContent(
    $("definition-type"),
    catalogue.post_processing.map((kind) => el("option", { value: kind.name }, kind.title)),
  );
  $("definition-type").addEventListener("change", () => renderKind({}, settingsForm ? settingsForm.read() : {}));
  form.addEventListener("submit", save);
  $("cancel-definition").addEventListener("click", () => {
    form.hidden = true;
  });
  const create = $("new-definition");
  if (create) {
    create.addEventListener("click", () => openForm());
    create.disabled = false; // the page ships with it disabled: a click before this point would be lost
  }
  await load();
  if (opened) {
    const definition = definitions.find((item) => item.name === opened);
    if (definition) openForm(definition);
    else notify(t("definitions.missing", { name: opened }), "error", { sticky: true });
  }
}

start();

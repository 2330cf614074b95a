// Generate a form from a JSON schema (pydantic's, from the catalogue), read it back as an object, and
// check what was entered against the schema in the API's words (checkValues) before the API, which
// stays the judge, is asked (see next() in job-form.js); each field has an error slot keyed by its path.

import { el, readCatalogue } from "./common.js";
import { language, t } from "./i18n.js";

// The API's words for each problem, and how it finds an example in a description
// (http_trigger.field_messages): the checks here speak as the API's answers do.
const catalogue = readCatalogue();
// "e.g. i-0123456789abcdef0" in a field's description is the best example a schema offers.
const EXAMPLE_IN_DESCRIPTION = new RegExp(catalogue.example_in_description || "$^");

// What stands for a secret the API does not show (http_trigger.job_secrets.MASK).
const MASK = "••••";
let nextId = 0;

function resolve(schema, root) {
  let current = schema || {};
  for (let depth = 0; current.$ref && depth < 20; depth += 1) {
    const name = current.$ref.split("/").pop();
    const { $ref, ...rest } = current;
    current = { ...((root.$defs || {})[name] || {}), ...rest };
  }
  if (Array.isArray(current.allOf) && current.allOf.length === 1) {
    const { allOf, ...rest } = current;
    current = { ...resolve(allOf[0], root), ...rest };
  }
  return current;
}

/** Return [schema, nullable] with anyOf [X, null] unwrapped to X. */
function unwrap(schema, root) {
  const resolved = resolve(schema, root);
  if (Array.isArray(resolved.anyOf)) {
    const variants = resolved.anyOf.map((item) => resolve(item, root));
    const concrete = variants.filter((item) => item.type !== "null");
    if (concrete.length === 1) {
      const { anyOf, ...outer } = resolved;
      return [{ ...concrete[0], ...outer }, concrete.length < variants.length];
    }
  }
  return [resolved, false];
}

export function locKey(loc) {
  return loc.join(".");
}

function kindOf(schema, root) {
  if (Array.isArray(schema.enum)) return "enum";
  if (schema.const !== undefined) return "const";
  switch (schema.type) {
    case "boolean":
      return "boolean";
    case "integer":
    case "number":
      return "number";
    case "string":
      if (schema.format === "password") return "password";
      if (schema.format === "textarea") return "textarea";
      return "string";
    case "array": {
      const items = unwrap(schema.items || {}, root)[0];
      if (Array.isArray(items.enum)) return "multi";
      if (["string", "integer", "number"].includes(items.type)) return "lines";
      return "json";
    }
    case "object":
      if (schema.properties && Object.keys(schema.properties).length) return "object";
      if (schema.additionalProperties && ["string", "integer", "number"].includes(schema.additionalProperties.type)) {
        return "pairs";
      }
      return "json";
    default:
      return "json";
  }
}

function errorSlot(key) {
  return el("p", { class: "field-error", "data-error-for": key });
}

function labelText(name, schema) {
  return schema.title || name;
}

/**
 * Build the fields of an object schema. Returns {node, read}: read() gives the object to send,
 * leaving out empty optional fields so the model's defaults apply.
 */
export function schemaForm(schema, { loc, values = {}, root = schema } = {}) {
  const resolved = resolve(schema, root);
  const required = new Set(resolved.required || []);
  const container = el("div", { class: "schema-form", "data-loc": locKey(loc) });
  const readers = [];
  const properties = resolved.properties || {};
  if (!Object.keys(properties).length) {
    container.append(el("p", { class: "hint" }, t("schema.no_parameters")));
  }
  for (const [name, property] of Object.entries(properties)) {
    const field = buildField(name, property, {
      loc: [...loc, name],
      required: required.has(name),
      value: Object.prototype.hasOwnProperty.call(values || {}, name) ? values[name] : undefined,
      root,
    });
    container.append(field.node);
    readers.push([name, field.read]);
  }
  return {
    node: container,
    read() {
      const result = {};
      for (const [name, read] of readers) {
        const value = read();
        if (value !== undefined) result[name] = value;
      }
      return result;
    },
  };
}

function buildField(name, property, { loc, required, value, root }) {
  const [schema, nullable] = unwrap(property, root);
  const kind = kindOf(schema, root);
  const key = locKey(loc);
  const id = `f${(nextId += 1)}-${name.replace(/[^A-Za-z0-9_-]/g, "")}`;
  const initial = value !== undefined ? value : schema.default;
  const label = labelText(name, schema);
  const help = schema.description ? el("p", { class: "help" }, schema.description) : null;
  const labelClass = required && !nullable ? "required" : null;

  if (kind === "object") {
    const nested = schemaForm(schema, { loc, values: initial || {}, root });
    const node = el(
      "fieldset",
      { class: "nested", "data-loc": key },
      el("legend", { class: labelClass }, label),
      help,
      errorSlot(key),
      nested.node,
    );
    return { node, read: () => nested.read() };
  }

  if (kind === "boolean") {
    const input = el("input", { type: "checkbox", id, name: key });
    input.checked = Boolean(initial);
    const node = el(
      "div",
      { class: "field", "data-loc": key },
      el("label", { class: "check", for: id }, input, label),
      errorSlot(key),
      help,
    );
    return { node, read: () => input.checked };
  }

  if (kind === "multi") {
    const items = unwrap(schema.items || {}, root)[0];
    const chosen = new Set(Array.isArray(initial) ? initial : []);
    const boxes = items.enum.map((option) => {
      const box = el("input", { type: "checkbox", value: String(option) });
      box.checked = chosen.has(option);
      return [option, box];
    });
    const node = el(
      "fieldset",
      { class: "field", "data-loc": key },
      el("legend", { class: labelClass }, label),
      ...boxes.map(([option, box]) => el("label", { class: "check" }, box, String(option))),
      help,
      errorSlot(key),
    );
    return {
      node,
      read: () => {
        const picked = boxes.filter(([, box]) => box.checked).map(([option]) => option);
        return picked.length || required ? picked : undefined;
      },
    };
  }

  let input;
  let read;
  if (kind === "enum" || kind === "const") {
    const options = kind === "enum" ? schema.enum : [schema.const];
    input = el("select", { id, name: key });
    if (!required || nullable || schema.default === undefined) input.append(el("option", { value: "" }, "—"));
    options.forEach((option, index) => input.append(el("option", { value: String(index) }, String(option))));
    const at = options.findIndex((option) => option === initial);
    input.value = at >= 0 ? String(at) : "";
    read = () => (input.value === "" ? undefined : options[Number(input.value)]);
  } else if (kind === "number") {
    input = el("input", { id, name: key, type: "text", inputmode: schema.type === "integer" ? "numeric" : "decimal" });
    input.value = initial === undefined || initial === null ? "" : String(initial);
    read = () => {
      const text = input.value.trim();
      if (text === "") return undefined;
      const number = Number(text);
      return Number.isFinite(number) ? number : text; // the API names a non-number
    };
  } else if (kind === "lines") {
    input = el("textarea", { id, name: key, rows: 3, spellcheck: "false" });
    input.value = Array.isArray(initial) ? initial.join("\n") : "";
    const items = unwrap(schema.items || {}, root)[0];
    read = () => {
      const lines = input.value.split(/[\n,]/).map((line) => line.trim()).filter(Boolean);
      const typed = items.type === "string" ? lines : lines.map((line) => (Number.isFinite(Number(line)) ? Number(line) : line));
      return typed.length || required ? typed : undefined;
    };
  } else if (kind === "pairs") {
    input = el("textarea", { id, name: key, rows: 3, spellcheck: "false", placeholder: t("schema.pairs_placeholder") });
    input.value = initial && typeof initial === "object" ? Object.entries(initial).map(([k, v]) => `${k}=${v}`).join("\n") : "";
    read = () => {
      const pairs = {};
      for (const line of input.value.split("\n").map((item) => item.trim()).filter(Boolean)) {
        const at = line.indexOf("=");
        pairs[at < 0 ? line : line.slice(0, at).trim()] = at < 0 ? "" : line.slice(at + 1).trim();
      }
      return Object.keys(pairs).length || required ? pairs : undefined;
    };
  } else if (kind === "json") {
    input = el("textarea", { id, name: key, rows: 4, spellcheck: "false", class: "mono", placeholder: "JSON" });
    input.value = initial === undefined || initial === null ? "" : JSON.stringify(initial, null, 2);
    read = () => {
      const text = input.value.trim();
      if (text === "") return undefined;
      try {
        return JSON.parse(text);
      } catch (error) {
        return text; // the API answers that this is not the expected type, at this field
      }
    };
  } else {
    const isText = kind === "textarea";
    input = isText
      ? el("textarea", { id, name: key, rows: 5, spellcheck: "false" })
      : el("input", {
          id,
          name: key,
          type: kind === "password" ? "password" : "text",
          autocomplete: kind === "password" ? "new-password" : "off",
          spellcheck: "false",
        });
    input.value = initial === undefined || initial === null ? "" : String(initial);
    read = () => (input.value.trim() === "" ? undefined : input.value.trim());
  }
  if (schema.examples && schema.examples.length && "placeholder" in input && !input.placeholder) {
    input.placeholder = String(schema.examples[0]);
  }
  const masked = typeof initial === "string" && initial.includes(MASK);
  const hint = masked
    ? el("p", { class: "help" }, t("schema.secret_help"))
    : kind === "lines"
      ? el("p", { class: "help" }, t("schema.lines_help"))
      : kind === "json"
        ? el("p", { class: "help" }, t("schema.json_help"))
        : null;
  const node = el(
    "div",
    { class: "field", "data-loc": key },
    el("label", { for: id, class: labelClass }, label),
    input,
    errorSlot(key),
    help,
    hint,
  );
  return { node, read };
}

/** An example value for a schema: its examples, its default, an "e.g." of its description, else a placeholder. */
export function exampleFor(schema, root = schema, hint = "") {
  const [resolved] = unwrap(schema, root);
  if (resolved.examples && resolved.examples.length) return resolved.examples[0];
  if (resolved.default !== undefined && resolved.default !== null) return resolved.default;
  if (Array.isArray(resolved.enum)) return resolved.enum[0];
  const described = EXAMPLE_IN_DESCRIPTION.exec(resolved.description || hint);
  switch (resolved.type) {
    case "boolean":
      return false;
    case "integer":
    case "number":
      if (described && Number.isFinite(Number(described[1]))) return Number(described[1]);
      return resolved.minimum !== undefined ? resolved.minimum : 1;
    case "array":
      return [exampleFor(resolved.items || { type: "string" }, root, resolved.description || hint)];
    case "object": {
      const result = {};
      for (const [name, property] of Object.entries(resolved.properties || {})) {
        result[name] = exampleFor(property, root);
      }
      return result;
    }
    default:
      if (described) return described[1];
      return resolved.title ? `<${language === "en" ? resolved.title.toLowerCase() : resolved.title}>` : "<value>";
  }
}

/**
 * An example JSON body for an action taking its parameters at execution: the schema's own example
 * when it has one, else every field without a default.
 */
export function exampleBody(schema) {
  const resolved = resolve(schema, schema);
  if (resolved.examples && resolved.examples.length) return resolved.examples[0];
  const result = {};
  for (const [name, property] of Object.entries(resolved.properties || {})) {
    const [prop] = unwrap(property, schema);
    if ((resolved.required || []).includes(name) || prop.default === undefined) result[name] = exampleFor(property, schema);
  }
  return result;
}

/**
 * A field's type as a person reads it, in the page's language: "string", "array of string",
 * "one of A, B", "integer or null" (JSON's type names stay as they are).
 */
function typeLabel(schema, root, nullable) {
  let label;
  if (Array.isArray(schema.enum)) label = t("schema.type.one_of", { options: schema.enum.map((item) => JSON.stringify(item)).join(", ") });
  else if (schema.const !== undefined) label = JSON.stringify(schema.const);
  else if (schema.type === "array") label = t("schema.type.array_of", { type: typeLabel(unwrap(schema.items || {}, root)[0], root, false) });
  else if (Array.isArray(schema.anyOf)) {
    label = schema.anyOf.map((item) => typeLabel(resolve(item, root), root, false)).reduce((either, or) => t("schema.type.or", { either, or }));
  } else label = schema.type || t("schema.type.any");
  return nullable ? t("schema.type.or", { either: label, or: "null" }) : label;
}

/**
 * The fields an object schema accepts, as the job page lists them: name, title, type, whether
 * required, default (undefined when there is none) and description.
 */
export function describeFields(schema) {
  const resolved = resolve(schema, schema);
  const required = new Set(resolved.required || []);
  return Object.entries(resolved.properties || {}).map(([name, property]) => {
    const [field, nullable] = unwrap(property, schema);
    return {
      name,
      title: field.title || name,
      type: typeLabel(field, schema, nullable),
      required: required.has(name),
      default: field.default,
      description: field.description || "",
    };
  });
}

/** Whether text matches a pattern; one JavaScript cannot read (Python's dialect) is the API's to judge. */
function matches(pattern, text) {
  try {
    return new RegExp(pattern, "u").test(text);
  } catch (error) {
    return true;
  }
}

/** A message of the API's table (http_trigger.field_messages.MESSAGES) with its blanks filled in. */
function message(rule, values = {}) {
  return ((catalogue.field_messages || {})[rule] || rule).replace(/\{(\w+)\}/g, (blank, name) => String(values[name]));
}

/**
 * A field named in a sentence, as the API names it: "a region", "an EC2 instance", "instance ids";
 * only English puts an article before a noun, another language names a field by its title.
 */
function noun(title, plural) {
  if (!title) return message("some_value");
  if (language !== "en") return title;
  const words = title
    .split(/\s+/)
    .map((word) => (word === word.charAt(0).toUpperCase() + word.slice(1).toLowerCase() ? word.toLowerCase() : word))
    .join(" ");
  if (plural) return words;
  return `${"aeiou".includes(words[0].toLowerCase()) ? "an" : "a"} ${words}`;
}

/** Choices as Python writes their values, listed in the page's language: 'red' or 'green'. */
function choices(options) {
  const written = options.map((option) => (typeof option === "string" ? `'${option}'` : String(option)));
  if (written.length < 2) return written.join("");
  const listed = written.slice(0, -1).join(message("choice_separator"));
  return message("last_choice", { choices: listed, last: written[written.length - 1] });
}

/** An example of a field, from the same places the API takes it: its examples, the model's, its description's "e.g.", its default. */
function exampleAt(field, root, path) {
  if (field.examples && field.examples.length) return field.examples[0];
  for (const example of root.examples || []) {
    let value = example;
    for (const part of path) {
      if (typeof part === "number") value = Array.isArray(value) && value.length ? value[0] : undefined;
      else value = value && typeof value === "object" && !Array.isArray(value) ? value[part] : undefined;
    }
    if (value !== undefined && value !== null && typeof value !== "object") return value;
  }
  const described = EXAMPLE_IN_DESCRIPTION.exec(field.description || "");
  if (described) return described[1];
  return field.default === undefined ? null : field.default;
}

function asksChoice(field) {
  return Array.isArray(field.enum) || field.const !== undefined || field.type === "boolean";
}

/** "Enter a name", or "Choose …" for a field filled by choosing. */
function askFor(field, name) {
  return message(asksChoice(field) ? "choose" : "enter", { field: name });
}

function numberProblem(value, field) {
  if (typeof value !== "number" || (field.type === "integer" && !Number.isInteger(value))) {
    return message(field.type === "integer" ? "integer" : "number");
  }
  const belowMinimum = field.minimum !== undefined && value < field.minimum;
  const notAbove = field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum;
  const aboveMaximum = field.maximum !== undefined && value > field.maximum;
  const notBelow = field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum;
  if (!(belowMinimum || notAbove || aboveMaximum || notBelow)) return null;
  if (field.minimum !== undefined && field.maximum !== undefined) {
    return message("between", { minimum: field.minimum, maximum: field.maximum });
  }
  if (belowMinimum) return message("minimum", { limit: field.minimum });
  if (notAbove) return message("above", { limit: field.exclusiveMinimum });
  if (aboveMaximum) return message("maximum", { limit: field.maximum });
  return message("below", { limit: field.exclusiveMaximum });
}

function textProblem(value, field, name, example) {
  if (typeof value !== "string") return message("text");
  if (field.minLength !== undefined && value.length < field.minLength) {
    return field.minLength === 1 ? askFor(field, name) : message("min_length", { limit: field.minLength });
  }
  if (field.maxLength !== undefined && value.length > field.maxLength) {
    return message("max_length", { limit: field.maxLength, length: value.length });
  }
  if (field.pattern && !matches(field.pattern, value)) {
    return example === null ? message("expected_form", { field: name }) : message("such_as", { field: name, example });
  }
  return null;
}

function arrayProblem(value, field, name) {
  if (!Array.isArray(value)) return message("list");
  if (field.minItems !== undefined && value.length < field.minItems) {
    return field.minItems === 1 ? askFor(field, name) : message("min_items", { limit: field.minItems });
  }
  if (field.maxItems !== undefined && value.length > field.maxItems) {
    return message("max_items", { limit: field.maxItems, length: value.length });
  }
  return null;
}

/**
 * Check one value against its schema. `path` is its place in the root model (for the model's
 * examples), `loc` its place in the body; an entry of a list (`listTitle` set) is named by its own
 * title, else by the list's, and its message says which entry it is, as the API's do.
 */
function checkValue(value, schema, root, { loc, path, listTitle = null }, problems) {
  const [field, nullable] = unwrap(schema, root);
  const entry = listTitle !== null;
  const name = entry && !field.title ? noun(listTitle, true) : noun(field.title, !entry && field.type === "array");
  const add = (text) => {
    if (!text) return;
    const number = path[path.length - 1] + 1;
    problems.push({ loc, msg: entry ? message("entry", { message: text, number }) : text });
  };
  if (value === null) {
    if (!nullable && field.type !== "null") add(askFor(field, name));
  } else if (Array.isArray(field.enum)) {
    if (!field.enum.includes(value)) add(value === "" ? askFor(field, name) : message("one_of", { choices: choices(field.enum) }));
  } else if (field.type === "integer" || field.type === "number") {
    add(numberProblem(value, field));
  } else if (field.type === "string") {
    add(textProblem(value, field, name, exampleAt(field, root, path)));
  } else if (field.type === "boolean") {
    if (typeof value !== "boolean") add(message("boolean"));
  } else if (field.type === "array") {
    const problem = arrayProblem(value, field, name);
    add(problem);
    if (problem) return;
    const items = { description: field.description, ...unwrap(field.items || {}, root)[0] };
    value.forEach((item, index) =>
      checkValue(item, items, root, { loc: [...loc, index], path: [...path, index], listTitle: field.title || "" }, problems),
    );
  } else if (field.type === "object") {
    if (typeof value !== "object" || Array.isArray(value)) add(message("object"));
    else if (field.properties) problems.push(...checkObject(field, value, { loc, path, root }));
  }
}

function checkObject(schema, values, { loc, path, root }) {
  const resolved = resolve(schema, root);
  const properties = resolved.properties || {};
  const problems = [];
  for (const name of resolved.required || []) {
    if (values[name] === undefined) problems.push({ loc: [...loc, name], msg: askForValue(resolved, name, root, false) });
  }
  for (const [name, value] of Object.entries(values)) {
    if (properties[name] && value !== undefined) {
      checkValue(value, properties[name], root, { loc: [...loc, name], path: [...path, name] }, problems);
    }
  }
  return problems;
}

/**
 * Check values read from a schema form against the schema, before the API does, in the API's words
 * (http_trigger.field_messages): required fields, types, lengths, bounds, patterns. Returns
 * [{loc, msg}], each loc under `loc`; the API stays the judge (cross-field rules are its).
 */
export function checkValues(schema, values, { loc = [], root = schema } = {}) {
  return checkObject(schema, values, { loc, path: [], root });
}

/**
 * What to write in field `name` of an object schema left empty: "Enter a name", or with an example
 * when `withExample` (for a field whose form is not obvious), "Enter a cron expression such as 0 9 * * 1-5".
 */
export function askForValue(schema, name, root = schema, withExample = true) {
  const [field] = unwrap((resolve(schema, root).properties || {})[name] || {}, root);
  const fieldName = noun(field.title, field.type === "array");
  const example = withExample ? exampleAt(field, root, [name]) : null;
  return example === null ? askFor(field, fieldName) : message("such_as", { field: fieldName, example });
}

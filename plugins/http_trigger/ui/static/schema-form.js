// Generate a form from a JSON schema (pydantic's, from the catalogue) and read it back as an object.
// The form only collects values: every rule is checked by the API, whose 422 answers name the field
// (see showFieldErrors in job-form.js); each field has an error slot keyed by its path.

import { el } from "./common.js";

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
    container.append(el("p", { class: "hint" }, "This action takes no parameters."));
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
    input = el("textarea", { id, name: key, rows: 3, spellcheck: "false", placeholder: "key=value, one per line" });
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
    ? el("p", { class: "help" }, "A secret, set and hidden: leave it as it is to keep it, or replace it.")
    : kind === "lines"
      ? el("p", { class: "help" }, "One per line.")
      : kind === "json"
        ? el("p", { class: "help" }, "A JSON value.")
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

// "e.g. i-0123456789abcdef0" in a field's description is the best example a schema offers.
const EXAMPLE_IN_DESCRIPTION = /\be\.g\.\s+["'`]?([^\s"'`,;]+?)["'`]?(?:[\s,;]|\.(?:\s|$)|$)/;

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
      return resolved.title ? `<${resolved.title.toLowerCase()}>` : "<value>";
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

/** A field's type as a person reads it: "string", "array of string", "one of A, B", "integer or null". */
function typeLabel(schema, root, nullable) {
  let label;
  if (Array.isArray(schema.enum)) label = `one of ${schema.enum.map((item) => JSON.stringify(item)).join(", ")}`;
  else if (schema.const !== undefined) label = JSON.stringify(schema.const);
  else if (schema.type === "array") label = `array of ${typeLabel(unwrap(schema.items || {}, root)[0], root, false)}`;
  else if (Array.isArray(schema.anyOf)) label = schema.anyOf.map((item) => typeLabel(resolve(item, root), root, false)).join(" or ");
  else label = schema.type || "any JSON value";
  return nullable ? `${label} or null` : label;
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

function checkValue(value, schema, root, loc, problems) {
  const [field, nullable] = unwrap(schema, root);
  if (value === null) {
    if (!nullable && field.type !== "null") problems.push({ loc, msg: "a value is required" });
    return;
  }
  if (Array.isArray(field.enum)) {
    if (!field.enum.includes(value)) problems.push({ loc, msg: `must be one of ${field.enum.join(", ")}` });
    return;
  }
  switch (field.type) {
    case "integer":
    case "number":
      if (typeof value !== "number" || (field.type === "integer" && !Number.isInteger(value))) {
        problems.push({ loc, msg: field.type === "integer" ? "must be a whole number" : "must be a number" });
      } else if (field.minimum !== undefined && value < field.minimum) problems.push({ loc, msg: `must be at least ${field.minimum}` });
      else if (field.exclusiveMinimum !== undefined && value <= field.exclusiveMinimum) problems.push({ loc, msg: `must be greater than ${field.exclusiveMinimum}` });
      else if (field.maximum !== undefined && value > field.maximum) problems.push({ loc, msg: `must be at most ${field.maximum}` });
      else if (field.exclusiveMaximum !== undefined && value >= field.exclusiveMaximum) problems.push({ loc, msg: `must be less than ${field.exclusiveMaximum}` });
      return;
    case "string":
      if (typeof value !== "string") problems.push({ loc, msg: "must be text" });
      else if (field.minLength !== undefined && value.length < field.minLength) problems.push({ loc, msg: `must have at least ${field.minLength} characters` });
      else if (field.maxLength !== undefined && value.length > field.maxLength) problems.push({ loc, msg: `must have at most ${field.maxLength} characters` });
      else if (field.pattern && !matches(field.pattern, value)) problems.push({ loc, msg: `“${value}” does not match the expected form` });
      return;
    case "boolean":
      if (typeof value !== "boolean") problems.push({ loc, msg: "must be true or false" });
      return;
    case "array":
      if (!Array.isArray(value)) problems.push({ loc, msg: "must be a list" });
      else value.forEach((item, index) => checkValue(item, field.items || {}, root, [...loc, String(index)], problems));
      return;
    case "object":
      if (typeof value !== "object" || Array.isArray(value)) problems.push({ loc, msg: "must be a JSON object" });
      else if (field.properties) problems.push(...checkValues(field, value, { loc, root }));
      return;
    default:
  }
}

/**
 * Check values read from a schema form against the schema, before the API does: required fields,
 * types, bounds, patterns. Returns [{loc, msg}]; the API stays the judge (cross-field rules are its).
 */
export function checkValues(schema, values, { loc = [], root = schema } = {}) {
  const resolved = resolve(schema, root);
  const problems = [];
  for (const name of resolved.required || []) {
    if (values[name] === undefined) problems.push({ loc: [...loc, name], msg: "a value is required" });
  }
  for (const [name, value] of Object.entries(values)) {
    const property = (resolved.properties || {})[name];
    if (property && value !== undefined) checkValue(value, property, root, [...loc, name], problems);
  }
  return problems;
}

// The page's messages, in the language the page was rendered in (language.js saw to it that it is the
// user's): the server embeds that language's catalogue, so the scripts say what the page says.
// A message's {name} placeholders take values; a value that is a DOM node (a link, say) keeps its
// place in the sentence with tParts, so each language orders its sentence as it needs.

const catalogue = JSON.parse(document.getElementById("messages").textContent);

export const language = document.documentElement.lang;

/** Dates and numbers in the user's own variant of the language (en-GB, say), when the browser has one. */
export const locale =
  (navigator.languages || []).find((tag) => tag.split("-")[0].toLowerCase() === language) || language;

const plurals = new Intl.PluralRules(locale);

function message(key) {
  if (key in catalogue) return catalogue[key];
  console.warn(`http-trigger: no message ${key}`); // shown as its key, which the tests look for
  return key;
}

/** The message `key` as a list of text and the nodes given as values. */
export function tParts(key, values = {}) {
  return message(key)
    .split(/\{([a-z_]+)\}/)
    .map((part, index) => (index % 2 === 0 ? part : values[part] instanceof Node ? values[part] : String(values[part])))
    .filter((part) => part !== "");
}

/** The message `key` as text, its placeholders filled with `values`. */
export function t(key, values = {}) {
  return tParts(key, values).join("");
}

/** The message `key.<plural category of count>` (one, other, …) as text, with {count} and `values`. */
export function tCount(key, count, values = {}) {
  const category = plurals.select(count);
  const chosen = `${key}.${category}` in catalogue ? `${key}.${category}` : `${key}.other`;
  return t(chosen, { ...values, count: count.toLocaleString(locale) });
}

// Follow Airflow's light or dark theme: the theme class of the Airflow page around this one (same
// origin), else the theme Airflow saved, else the system's preference. Loaded in <head> so the
// page never flashes in the wrong colours.
(function () {
  "use strict";
  var media = window.matchMedia("(prefers-color-scheme: dark)");

  function airflowRoot() {
    try {
      return window.parent !== window ? window.parent.document.documentElement : null;
    } catch (error) {
      return null; // not Airflow's page: another origin
    }
  }

  function pick() {
    var root = airflowRoot();
    if (root) {
      if (root.classList.contains("dark")) return "dark";
      if (root.classList.contains("light")) return "light";
    }
    try {
      var saved = window.localStorage.getItem("theme");
      if (saved === "dark" || saved === "light") return saved;
    } catch (error) {
      // storage disabled: fall through
    }
    return media.matches ? "dark" : "light";
  }

  function apply() {
    document.documentElement.setAttribute("data-theme", pick());
  }

  apply();
  media.addEventListener("change", apply);
  var root = airflowRoot();
  if (root) {
    new MutationObserver(apply).observe(root, { attributes: true, attributeFilter: ["class", "style"] });
  }
})();

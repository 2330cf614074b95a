// Speak the language the user picked in Airflow's UI. Airflow keeps it with i18next, which takes the
// first language it supports from the `lng` query parameter, the `i18next` cookie, the local storage
// key `i18nextLng` and the browser's languages; this page does the same. The server rendered the page
// from what a request shows it (all but local storage), so when the choice differs, it is kept in a
// cookie of the pages' own and the page loads again, before anything is drawn. Loaded in <head>.
(function () {
  "use strict";
  var root = document.documentElement;
  var languages = root.dataset.languages.split(" ");
  var cookieName = root.dataset.languageCookie;
  var STORAGE_KEY = "i18nextLng";

  function supported(tag) {
    var primary = String(tag || "").split(/[-_]/)[0].toLowerCase();
    return languages.indexOf(primary) >= 0 ? primary : null;
  }

  function cookie(name) {
    var prefix = name + "=";
    var found = document.cookie.split("; ").filter(function (item) { return item.indexOf(prefix) === 0; })[0];
    return found ? decodeURIComponent(found.slice(prefix.length)) : null;
  }

  function stored() {
    try {
      return window.localStorage.getItem(STORAGE_KEY);
    } catch (error) {
      return null; // storage disabled: the next source decides
    }
  }

  function choose() {
    var candidates = [new URLSearchParams(window.location.search).get("lng"), cookie("i18next"), stored()]
      .concat(navigator.languages || [navigator.language]);
    for (var index = 0; index < candidates.length; index += 1) {
      var language = supported(candidates[index]);
      if (language) return language;
    }
    return languages[0];
  }

  function follow() {
    var language = choose();
    if (cookie(cookieName) !== language) {
      document.cookie = cookieName + "=" + language + "; path=" + root.dataset.languagePath + "; max-age=31536000; SameSite=Lax";
    }
    // Only once the cookie holds it: without cookies, the page stays as the server rendered it.
    if (language !== root.lang && cookie(cookieName) === language) {
      root.style.visibility = "hidden"; // nothing of this page shows in the other language meanwhile
      window.location.reload();
    }
  }

  follow();
  // A language picked in Airflow's UI while this page is open.
  window.addEventListener("storage", function (event) {
    if (event.key === STORAGE_KEY) follow();
  });
})();

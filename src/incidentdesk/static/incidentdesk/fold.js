// On a phone, sections marked data-fold-narrow (the menu, the queue's filters, the incident
// page's sections other than the next step's) start folded; on a wider screen they stay
// open. A panel the page refreshes in place folds the same way, and following a link to a
// folded section opens it. Without this script everything is simply open.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 640px)");
  function fold(root) {
    var sections = (root || document).querySelectorAll("details[data-fold-narrow]");
    for (var i = 0; i < sections.length; i++) {
      sections[i].open = !narrow.matches;
    }
  }
  function reveal() {
    var id = window.location.hash.slice(1);
    var target = id ? document.getElementById(id) : null;
    for (var node = target; node; node = node.parentElement) {
      if (node.tagName === "DETAILS") { node.open = true; }
    }
  }
  document.addEventListener("DOMContentLoaded", function () { fold(); reveal(); });
  window.addEventListener("hashchange", reveal);
  narrow.addEventListener("change", function () { fold(); });
  // htmx announces every piece of content it puts in the page (the page itself at start)
  document.addEventListener("htmx:load", function (event) {
    var added = event.detail && event.detail.elt;
    if (added && added !== document.body && added.querySelectorAll) { fold(added); }
  });
})();

// On a phone, sections marked data-fold-narrow (the menu, the queue's filters) start folded;
// on a wider screen they stay open. Without this script they are simply open.
(function () {
  "use strict";
  var narrow = window.matchMedia("(max-width: 640px)");
  function fold() {
    var sections = document.querySelectorAll("details[data-fold-narrow]");
    for (var i = 0; i < sections.length; i++) {
      sections[i].open = !narrow.matches;
    }
  }
  document.addEventListener("DOMContentLoaded", fold);
  narrow.addEventListener("change", fold);
})();

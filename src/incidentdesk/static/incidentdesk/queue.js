// The queue's keyboard: j/k move between incidents, o or Enter opens one, x selects it,
// a acknowledges it, / goes to the search, ? shows the list of keys. Keys typed into a field
// are left alone. The selection survives the list refreshing itself.
(function () {
  "use strict";
  var current = -1;

  function rows() {
    return document.querySelectorAll("#queue-results tbody tr[data-ref]");
  }

  function mark(index) {
    var list = rows();
    if (!list.length) { return; }
    current = Math.max(0, Math.min(index, list.length - 1));
    for (var i = 0; i < list.length; i++) {
      list[i].classList.toggle("current", i === current);
    }
    var link = list[current].querySelector("td[data-label='Ref'] a");
    if (link) { link.focus(); }
  }

  function currentRow() {
    var list = rows();
    return current >= 0 && current < list.length ? list[current] : null;
  }

  function acknowledge(row) {
    var form = document.getElementById("quick-acknowledge");
    if (!form || !row) { return; }
    form.querySelector("input[name='incidents']").value = row.getAttribute("data-ref");
    form.submit();
  }

  function search() {
    var field = document.getElementById("f-q");
    if (!field) { return; }
    var fold = field.closest("details");
    if (fold) { fold.open = true; }
    field.focus();
    field.select();
  }

  function help() {
    var dialog = document.getElementById("shortcuts");
    if (dialog && !dialog.open) { dialog.showModal(); }
  }

  function typing(target) {
    return target && (target.isContentEditable ||
      /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (document.querySelector("dialog[open]")) { return; }
    var row = currentRow();
    switch (event.key) {
      case "j": mark(current + 1); break;
      case "k": mark(current < 0 ? 0 : current - 1); break;
      case "Enter":
        // Enter on a button or a link elsewhere keeps its own meaning
        if (!row || (event.target !== document.body && !row.contains(event.target))) { return; }
        window.location.assign(row.querySelector("td[data-label='Ref'] a").href);
        break;
      case "o":
        if (!row) { return; }
        window.location.assign(row.querySelector("td[data-label='Ref'] a").href);
        break;
      case "x":
        if (!row) { return; }
        var box = row.querySelector("input[type='checkbox']");
        if (box) { box.checked = !box.checked; }
        break;
      case "a": acknowledge(row); break;
      case "/": search(); break;
      case "?": help(); break;
      default: return;
    }
    event.preventDefault();
  });

  // the list refreshes itself when an incident changes: keep what was ticked and where the
  // keyboard was
  var ticked = [];
  var at = null;
  document.addEventListener("htmx:beforeSwap", function () {
    ticked = [];
    var boxes = document.querySelectorAll("#queue-results input[name='incidents']:checked");
    for (var i = 0; i < boxes.length; i++) { ticked.push(boxes[i].value); }
    var row = currentRow();
    at = row ? row.getAttribute("data-ref") : null;
  });
  document.addEventListener("htmx:afterSwap", function () {
    var list = rows();
    for (var i = 0; i < list.length; i++) {
      var ref = list[i].getAttribute("data-ref");
      var box = list[i].querySelector("input[name='incidents']");
      if (box && ticked.indexOf(ref) !== -1) { box.checked = true; }
      if (ref === at) {
        current = i;
        list[i].classList.add("current");
      }
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("show-shortcuts");
    if (button) { button.addEventListener("click", help); }
  });
})();

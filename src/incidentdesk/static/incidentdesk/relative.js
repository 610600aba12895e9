// Beside each <time data-relative> of a cached page, how long ago or how soon it is, in the
// words the team's pages use ("2 h 5 min ago", "in 3 days"), kept fresh every minute.
(function () {
  "use strict";
  function span(ms) {
    var minutes = Math.floor(Math.abs(ms) / 60000);
    var days = Math.floor(minutes / 1440);
    var hours = Math.floor((minutes % 1440) / 60);
    minutes = minutes % 60;
    if (days) { return days + (days === 1 ? " day" : " days") + (hours ? " " + hours + " h" : ""); }
    if (hours) { return hours + " h" + (minutes ? " " + minutes + " min" : ""); }
    return minutes + " min";
  }
  function words(at) {
    var ms = at - Date.now();
    if (Math.abs(ms) < 60000) { return "just now"; }
    return ms > 0 ? "in " + span(ms) : span(ms) + " ago";
  }
  function fill() {
    var times = document.querySelectorAll("time[data-relative]");
    for (var i = 0; i < times.length; i++) {
      var at = Date.parse(times[i].getAttribute("datetime"));
      if (isNaN(at)) { continue; }
      var next = times[i].nextElementSibling;
      if (!next || !next.classList.contains("relative")) {
        next = document.createElement("span");
        next.className = "muted relative";
        times[i].insertAdjacentText("afterend", " ");
        times[i].parentNode.insertBefore(next, times[i].nextSibling.nextSibling);
      }
      next.textContent = "(" + words(at) + ")";
    }
  }
  document.addEventListener("DOMContentLoaded", fill);
  setInterval(fill, 60000);
})();

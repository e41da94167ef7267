// "Connect a device": count the code's minutes down, and notice when the phone used it.
// Progressive enhancement only: without this file the page shows the expiry time and a
// "Check again" link.
(function () {
  "use strict";
  var box = document.querySelector(".device[data-status-url]");
  if (!box) { return; }
  var status = box.querySelector(".device-status");
  var countdown = box.querySelector(".countdown");
  var expires = Date.parse(box.getAttribute("data-expires"));
  var url = box.getAttribute("data-status-url");
  var finished = false;
  var ticker = null;
  var poller = null;

  function stop(message, state) {
    finished = true;
    window.clearInterval(ticker);
    window.clearInterval(poller);
    status.textContent = message;
    box.setAttribute("data-state", state);
    countdown.hidden = true;
  }

  function tick() {
    var left = Math.max(0, Math.round((expires - Date.now()) / 1000));
    var minutes = Math.floor(left / 60);
    var seconds = left % 60;
    countdown.hidden = false;
    countdown.textContent = " (" + minutes + ":" + (seconds < 10 ? "0" : "") + seconds + " left)";
    if (left === 0) { check(); }
  }

  function check() {
    if (finished) { return; }
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (answer) {
        if (!answer || finished) { return; }
        if (answer.status !== "waiting") { stop(answer.message, answer.status); }
      })
      .catch(function () { /* a missed poll is retried by the next one */ });
  }

  tick();
  ticker = window.setInterval(tick, 1000);
  poller = window.setInterval(check, 2000);
}());

// Quick exit: leave at once and replace this page in the history, so Back
// does not return here. Works from the button, or Esc pressed twice.
(function () {
  "use strict";
  var link = document.getElementById("quick-exit");
  if (!link) return;
  var target = link.getAttribute("href");
  function leave(event) {
    if (event) event.preventDefault();
    document.body.innerHTML = "";
    document.title = "";
    window.location.replace(target);
  }
  link.addEventListener("click", leave);
  var lastEsc = 0;
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    var now = Date.now();
    if (now - lastEsc < 1000) leave(event);
    lastEsc = now;
  });
})();

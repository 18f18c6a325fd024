// Portico's only script, loaded from /static (the CSP forbids inline
// script). It adds comfort, never function: every page works without it.
"use strict";
document.addEventListener("submit", function (event) {
  // A form marked data-once disables its buttons after the first submit
  // so that a double click sends it once.
  var form = event.target;
  if (!form.hasAttribute("data-once")) return;
  if (form.dataset.sent === "1") { event.preventDefault(); return; }
  form.dataset.sent = "1";
  form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = true; });
});
window.addEventListener("pageshow", function () {
  // Coming back through the history cache: make forms usable again.
  document.querySelectorAll("form[data-once]").forEach(function (form) {
    form.dataset.sent = "";
    form.querySelectorAll("button[type=submit]").forEach(function (b) { b.disabled = false; });
  });
});

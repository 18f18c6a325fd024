// Copy buttons (views/settings/api-keys.html). A button with
// data-copy="<id>" copies the text of the element with that id and says so
// in the element named by data-copy-status. The buttons are hidden until
// this script shows them: without it, the text is selected by hand.
"use strict";
(function () {
  function selectText(el) {
    var range = document.createRange();
    range.selectNodeContents(el);
    var selection = window.getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
  }

  document.querySelectorAll("button[data-copy]").forEach(function (button) {
    var target = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy-status") || "");
    if (!target) return;
    function say(message) { if (status) status.textContent = message; }
    function fallback() {
      // Older browsers, or no clipboard access (plain http): select the
      // text and try the legacy command; the person can press Ctrl+C.
      selectText(target);
      var ok = false;
      try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
      say(ok ? "Copied to the clipboard." : "Selected: press Ctrl+C (⌘C on a Mac) to copy.");
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = target.textContent.trim();
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { say("Copied to the clipboard."); }, fallback);
      } else {
        fallback();
      }
    });
    target.addEventListener("click", function () { selectText(target); });
  });
})();

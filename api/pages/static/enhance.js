// Progressive enhancement only: every page works without this script.
(function () {
  "use strict";
  // The verify page: drop a file anywhere on the drop zone to choose it.
  document.querySelectorAll(".drop-zone").forEach(function (zone) {
    var input = zone.querySelector('input[type="file"]');
    if (!input) { return; }
    ["dragenter", "dragover"].forEach(function (name) {
      zone.addEventListener(name, function (event) { event.preventDefault(); zone.classList.add("dragging"); });
    });
    ["dragleave", "drop"].forEach(function (name) {
      zone.addEventListener(name, function () { zone.classList.remove("dragging"); });
    });
    zone.addEventListener("drop", function (event) {
      event.preventDefault();
      if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; }
    });
  });
  // The share link: a copy button, shown only when the clipboard can be used.
  document.querySelectorAll("[data-copy-target]").forEach(function (button) {
    if (!navigator.clipboard) { return; }
    var source = document.getElementById(button.getAttribute("data-copy-target"));
    var done = button.parentElement.querySelector("[data-copy-done]");
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(source.value).then(function () { if (done) { done.hidden = false; } });
    });
  });
  // Move focus to an error summary, so screen readers and keyboard users meet it first.
  var summary = document.querySelector(".error-summary");
  if (summary) { summary.focus(); }
})();

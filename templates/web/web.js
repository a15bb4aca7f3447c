// doctrine serve: small enhancements. Every page works without this script.
// "Add another item" on a list question adds a row here, without a round trip to the server.
(function () {
  "use strict";
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("button[name=more]") : null;
    if (!button) return;
    var rows = button.form.querySelectorAll("fieldset.record");
    if (!rows.length) return;
    var last = rows[rows.length - 1];
    var n = rows.length;
    var row = last.cloneNode(true);
    row.querySelector("legend").textContent = "Item " + (n + 1);
    row.querySelectorAll("[name]").forEach(function (el) {
      var name = el.getAttribute("name").replace(/^r\d+\./, "r" + n + ".");
      el.setAttribute("name", name);
      el.id = name;
      if (el.tagName === "SELECT") { el.selectedIndex = 0; } else { el.value = ""; }
    });
    row.querySelectorAll("label[for]").forEach(function (label) {
      label.setAttribute("for", label.getAttribute("for").replace(/^r\d+\./, "r" + n + "."));
    });
    last.after(row);
    event.preventDefault();
    var first = row.querySelector("input, select");
    if (first) first.focus();
  });
})();

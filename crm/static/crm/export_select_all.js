// Wires the export page's "select all" box without an inline handler, so the
// page works under a Content-Security-Policy that forbids inline script.
document.addEventListener("DOMContentLoaded", () => {
  const toggle = document.querySelector(".select-toggle");
  if (toggle && typeof onSelectToggleChange === "function") {
    toggle.addEventListener("change", onSelectToggleChange);
  }
});

// The shell of every admin page (templates/admin/base.html).
// The side menu's "Settings" group says whether it is open to screen readers.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll(".crm-settings-menu > a").forEach((toggle) => {
    const item = toggle.parentElement;
    const update = () => toggle.setAttribute(
      "aria-expanded", String(item.classList.contains("menu-open")),
    );
    update();
    new MutationObserver(update).observe(item, { attributes: true, attributeFilter: ["class"] });
  });
});

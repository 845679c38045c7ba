// The shell of every admin page (templates/admin/base.html).

// AdminLTE gives every .nav and .navbar-nav without a role the role
// "navigation" when the page has loaded, which takes a menu's <ul> out of the
// list it is (screen readers and axe's "listitem" rule). This deferred script
// runs first: a role of "list" makes AdminLTE leave them be.
document.querySelectorAll("ul.nav:not([role]), ul.navbar-nav:not([role])").forEach((list) => {
  list.setAttribute("role", "list");
});

document.addEventListener("DOMContentLoaded", () => {
  // AdminLTE also adds English skip links, one to a #navigation that does not
  // exist; the base template has its own, translated, to the page's <main>.
  setTimeout(() => document.querySelectorAll(".skip-links").forEach((links) => links.remove()), 0);

  // A button that shows or hides the element it controls (the dashboard's
  // definitions): a tap on a phone, where a title's hover never comes.
  document.querySelectorAll("button.crm-figure-info[aria-controls]").forEach((button) => {
    const target = document.getElementById(button.getAttribute("aria-controls"));
    if (!target) return;
    button.addEventListener("click", () => {
      const open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", String(open));
      target.hidden = !open;
    });
  });

  // The side menu's "Settings" group says whether it is open to screen readers.
  document.querySelectorAll(".crm-settings-menu > a").forEach((toggle) => {
    const item = toggle.parentElement;
    const update = () => toggle.setAttribute(
      "aria-expanded", String(item.classList.contains("menu-open")),
    );
    update();
    new MutationObserver(update).observe(item, { attributes: true, attributeFilter: ["class"] });
  });
});

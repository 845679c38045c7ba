// Change lists (templates/admin/change_list.html): the action bar, the
// cards' select area and their labels (crm/static/crm/phone-lists.css).
//
// The bar's verbs run Django's own actions: a verb picks its action in the
// action form and presses that form's button, so Django's checks, its
// "select all N" (select_across) and its confirmation pages stay as they are.
// Django's admin/js/actions.js keeps ticking rows and counting; this reads it.
"use strict";
(function () {
  // Cells that say what they are on a card ("Pemilik: Sari").
  const LABELLED = ["field-owner", "field-follow_up", "field-outstanding_rupiah"];

  function prepareCards(table) {
    const headers = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.tBodies[0].rows) {
      [...row.cells].forEach((cell, index) => {
        if (cell.classList.contains("action-checkbox")) return;
        const text = cell.textContent.trim();
        if (text === "" || text === "-") cell.classList.add("crm-empty");
        if (headers[index]) cell.dataset.label = headers[index];
        if (LABELLED.some((name) => cell.classList.contains(name))) cell.classList.add("crm-labelled");
      });
    }
  }

  function wireSelectArea(table) {
    // A tap anywhere in a card's select area ticks it, not only on the box.
    table.addEventListener("click", (event) => {
      const cell = event.target.closest("td.action-checkbox");
      if (!cell || event.target.matches("input")) return;
      const box = cell.querySelector("input.action-select");
      if (box) box.click();
    });
  }

  function wireBar(form, bar) {
    const boxes = [...form.querySelectorAll("#result_list tbody input.action-select")];
    const toggle = document.getElementById("action-toggle");
    const across = () => [...form.querySelectorAll("input.select-across")].some((i) => i.value === "1");
    const total = Number(bar.dataset.total);
    const counter = bar.querySelector(".crm-action-count");
    const selectAll = bar.querySelector(".crm-select-all");

    function update() {
      const ticked = boxes.filter((box) => box.checked).length;
      const count = across() ? total : ticked;
      bar.hidden = count === 0;
      counter.textContent = bar.dataset.countText.replace("%(count)s", count);
      for (const number of bar.querySelectorAll(".crm-action-n")) number.textContent = count;
      if (selectAll) selectAll.hidden = count === total;
    }

    function setAll(checked) {
      if (!toggle) {
        for (const box of boxes) if (box.checked !== checked) box.click();
        return;
      }
      // Django's own toggle: it ticks every row and offers "select all N".
      toggle.checked = !checked;
      toggle.click();
    }

    form.addEventListener("change", () => setTimeout(update, 0));
    if (toggle) toggle.addEventListener("click", () => setTimeout(update, 0));
    if (selectAll) {
      selectAll.addEventListener("click", () => {
        setAll(true);
        // More rows than this page: every row the filter matches.
        const question = form.querySelector("div.actions .question a");
        if (total > boxes.length && question) question.click();
        update();
      });
    }
    bar.querySelector(".crm-select-clear").addEventListener("click", () => {
      setAll(false);
      for (const input of form.querySelectorAll("input.select-across")) input.value = "0";
      update();
    });
    for (const verb of bar.querySelectorAll("button[data-action]")) {
      verb.addEventListener("click", () => {
        const select = form.querySelector("select[name=action]");
        const go = form.querySelector("div.actions button[name=index]");
        if (!select || !go) return;
        select.value = verb.dataset.action;
        form.requestSubmit(go);
      });
    }
    window.addEventListener("pageshow", () => setTimeout(update, 0));
    update();
  }

  function wireFilters() {
    // The "Saring" panel closes on a tap outside it, or on Escape.
    const filters = document.querySelector("details.crm-filters");
    if (!filters) return;
    document.addEventListener("click", (event) => {
      if (filters.open && !filters.contains(event.target)) filters.open = false;
    });
    document.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && filters.open) {
        filters.open = false;
        filters.querySelector("summary").focus();
      }
    });
  }

  function start() {
    wireFilters();
    const table = document.getElementById("result_list");
    if (!table || !table.tBodies.length) return;
    prepareCards(table);
    wireSelectArea(table);
    const form = document.getElementById("changelist-form");
    const bar = form && form.querySelector(".crm-action-bar");
    if (bar) wireBar(form, bar);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

/* Change forms on a phone (issue 19), plain JavaScript:
   - amounts in Rupiah get their thousands dots while typed (Rp 1.260.000);
     the server reads them with or without (crm/admin/widgets.py);
   - the deal page's "Record payment" row gets the focus on its amount;
   - the lost reason's sheet focuses its field and closes on Escape;
   - an autocomplete (select2: the deal's customer) is named by its field's
     label: select2 names its box by the chosen value, nothing when empty. */
(function () {
    "use strict";

    function groupDigits(digits) {
        return digits.replace(/\B(?=(\d{3})+(?!\d))/g, ".");
    }

    function formatRupiah(input) {
        const before = input.value;
        const caret = input.selectionStart === null ? before.length : input.selectionStart;
        const digitsBeforeCaret = before.slice(0, caret).replace(/\D/g, "").length;
        const digits = before.replace(/\D/g, "").replace(/^0+(?=\d)/, "");
        const after = digits ? "Rp " + groupDigits(digits) : "";
        if (after === before) return;
        input.value = after;
        // Keep the caret after the same digit it followed.
        let position = after.length;
        if (digitsBeforeCaret === 0) {
            position = after ? 3 : 0;
        } else {
            let seen = 0;
            for (let i = 0; i < after.length; i += 1) {
                if (/\d/.test(after[i])) seen += 1;
                if (seen === digitsBeforeCaret) { position = i + 1; break; }
            }
        }
        if (document.activeElement === input) input.setSelectionRange(position, position);
    }

    document.addEventListener("input", function (event) {
        const input = event.target;
        if (input instanceof HTMLInputElement && input.hasAttribute("data-rupiah")) {
            formatRupiah(input);
        }
    });

    function focusNewPayment() {
        if (!/[?&]record_payment=/.test(window.location.search)) return;
        const rows = document.querySelectorAll(
            "#payments-group tr.form-row:not(.has_original):not(.empty-form)"
        );
        const row = rows[rows.length - 1];
        const amount = row && row.querySelector("input[data-rupiah]");
        if (!amount) return;
        if (!row.querySelector(".errorlist")) amount.focus({ preventScroll: true });
        // After the page's own scripts have laid it out (select2, inlines).
        const scroll = function () { amount.scrollIntoView({ block: "center" }); };
        if (document.readyState === "complete") scroll();
        else window.addEventListener("load", scroll);
    }

    function wireSheets() {
        document.querySelectorAll("details.crm-sheet").forEach(function (sheet) {
            sheet.addEventListener("toggle", function () {
                if (!sheet.open) return;
                const field = sheet.querySelector("input:not([type=hidden])");
                if (field) field.focus();
            });
            sheet.addEventListener("keydown", function (event) {
                if (event.key === "Escape" && sheet.open) {
                    sheet.open = false;
                    sheet.querySelector("summary").focus();
                }
            });
        });
    }

    function nameAutocomplete(select, name) {
        const box = select.parentElement.querySelector(".select2-selection[role=combobox]");
        if (!box || (box.getAttribute("aria-label") === name && !box.hasAttribute("aria-labelledby"))) {
            return;
        }
        box.removeAttribute("aria-labelledby");
        box.setAttribute("aria-label", name);
        const shown = box.querySelector(".select2-selection__rendered");
        if (shown) shown.setAttribute("aria-label", name);
    }

    function nameAutocompletes() {
        document.querySelectorAll("select.admin-autocomplete[id]").forEach(function (select) {
            const label = document.querySelector('label[for="' + select.id + '"]');
            if (!label) return;
            const name = label.textContent.replace("*", "").trim();
            nameAutocomplete(select, name);
            // select2 may build the box again (jazzmin loads it twice): name it again.
            new MutationObserver(function () { nameAutocomplete(select, name); }).observe(
                select.parentElement,
                { childList: true, subtree: true, attributes: true, attributeFilter: ["aria-labelledby"] }
            );
        });
    }

    function ready() {
        focusNewPayment();
        wireSheets();
        nameAutocompletes();
    }

    if (document.readyState === "loading") {
        document.addEventListener("DOMContentLoaded", ready);
    } else {
        ready();
    }
})();

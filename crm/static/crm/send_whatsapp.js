// The WhatsApp send page (admin/crm/send_whatsapp.html): picking a template
// puts its text in the box, shows its preview (written by the server with
// the page) and the Send button, with that preview's token. Editing the
// text hides Send until "Preview" has shown the new text: the server sends
// nothing whose token is not the text's (crm/admin/whatsapp_send.py).
"use strict";
(function () {
  function start() {
    const form = document.querySelector(".crm-send-form");
    if (!form) return;
    const text = form.querySelector("textarea[name=text]");
    const token = form.querySelector("input[name=request_token]");
    const send = form.querySelector(".crm-send-confirm");
    const pageToken = token.value.split(".")[0];
    let shownText = null; // the text whose preview is on the page

    function showPreview(key) {
      for (const section of document.querySelectorAll(".crm-previews")) {
        section.hidden = section.dataset.previews !== key;
      }
    }
    if (!send || send.hidden) {
      shownText = null;
    } else {
      shownText = text.value;
      showPreview("server");
    }

    form.addEventListener("change", (event) => {
      const radio = event.target;
      if (radio.name !== "template") return;
      if (radio.hasAttribute("data-own")) {
        text.value = "";
        text.focus();
        shownText = null;
        token.value = pageToken;
        showPreview(null);
        if (send) send.hidden = true;
        return;
      }
      text.value = radio.dataset.text;
      token.value = radio.dataset.token;
      shownText = text.value;
      showPreview(radio.value);
      if (send) send.hidden = false;
    });
    text.addEventListener("input", () => {
      if (shownText !== null && text.value === shownText) return;
      // Not the text previewed: Send waits for "Preview".
      if (send) send.hidden = true;
      showPreview(null);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();

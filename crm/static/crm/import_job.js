// Refreshes a background preview's, import's or undo's progress page (admin/crm/import_job.html)
// from its JSON every 2 s, until the job is done or failed. A file, not an
// inline script: the Content-Security-Policy allows only 'self' scripts.
document.addEventListener("DOMContentLoaded", () => {
  const page = document.querySelector(".crm-import-job");
  if (!page) return;
  const show = (selector, text) => {
    const element = page.querySelector(selector);
    element.textContent = text;
    element.hidden = !text;
  };
  const refresh = async () => {
    let progress;
    try {
      const response = await fetch(page.dataset.progressUrl, {
        credentials: "same-origin", headers: {Accept: "application/json"},
      });
      if (!response.ok) throw new Error(response.status);
      progress = await response.json();
    } catch (error) {
      setTimeout(refresh, 5000);  // offline for a moment: try again later
      return;
    }
    const bar = page.querySelector("[data-figure=bar]");
    bar.max = progress.rows_total;
    bar.value = progress.rows_done;
    bar.textContent = `${progress.percent}%`;
    page.dataset.status = progress.status;
    show("[data-figure=status]", progress.status_text);
    show("[data-figure=rows]", progress.rows_text);
    show("[data-figure=time-left]", progress.time_left);
    show("[data-figure=summary]", progress.summary);
    show("[data-figure=error]", progress.error);
    page.querySelector(".crm-job-wait").hidden = progress.finished;
    page.querySelector(".crm-job-done").hidden = !progress.finished;
    page.querySelector(".crm-job-reload").hidden = progress.finished;
    if (progress.finished && progress.status === "done" && page.dataset.kind === "preview") {
      // The preview is ready: this address now leads to it and its confirmation.
      window.location.reload();
      return;
    }
    if (!progress.finished) setTimeout(refresh, 2000);
  };
  if (!["done", "failed"].includes(page.dataset.status)) setTimeout(refresh, 2000);
});

// GLaaS web UI: the pages work without this script; it only adds conveniences.
// Copy buttons put a digest on the clipboard.
document.addEventListener("click", (event) => {
  const target = event.target;
  if (!(target instanceof HTMLElement)) return;
  const button = target.closest("button[data-copy]");
  if (!button) return;
  const text = button.getAttribute("data-copy") || "";
  navigator.clipboard?.writeText(text).then(() => {
    button.classList.add("copied");
    button.textContent = "Copied";
    setTimeout(() => {
      button.classList.remove("copied");
      button.textContent = "Copy";
    }, 1500);
  });
});

// Empty search fields are left out of the URL, so result links stay short.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || form.method.toLowerCase() !== "get") return;
  for (const input of form.querySelectorAll("input")) if (input.value.trim() === "") input.disabled = true;
  setTimeout(() => {
    for (const input of form.querySelectorAll("input")) input.disabled = false;
  }, 0);
});

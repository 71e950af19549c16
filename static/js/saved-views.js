// The dashboard's filters change the URL through htmx (hx-push-url); a saved view stores
// the filters shown when it is saved, so copy the current query string in at submit time.
document.addEventListener("submit", (event) => {
  const form = event.target.closest("[data-saved-view-form]");
  if (!form) return;
  const query = form.querySelector("input[name=query]");
  if (query) query.value = window.location.search.replace(/^\?/, "");
});

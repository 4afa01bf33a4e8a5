// The caching page (/caching): show the fields this page comes with, then the
// 304 its ETag earns, and drive the rate-limited button.

const page = window.location.pathname;

async function showFields() {
  // "no-store": straight from the server, so what is shown is what heron sent.
  const response = await fetch(page, { cache: "no-store" });
  for (const cell of document.querySelectorAll("[data-field]")) {
    cell.textContent = response.headers.get(cell.dataset.field) ?? "(none)";
  }
  const etag = response.headers.get("etag");
  const again = await fetch(page, { cache: "no-store", headers: { "If-None-Match": etag } });
  document.getElementById("caching-revalidated").textContent = `${again.status} ${again.statusText}`;
}

const button = document.getElementById("caching-click");
const status = document.getElementById("caching-status");
let countdown = null;

button.addEventListener("click", async () => {
  const response = await fetch("/caching/click", { cache: "no-store" });
  document.getElementById("caching-ratelimit").textContent = response.headers.get("ratelimit") ?? "(none)";
  if (response.ok) {
    status.textContent = (await response.json()).message;
    return;
  }
  let wait = Number(response.headers.get("retry-after"));
  clearInterval(countdown);
  const tell = () => {
    status.textContent = `429 Too Many Requests: wait ${wait} s before the next click gets through.`;
  };
  tell();
  countdown = setInterval(() => {
    wait -= 1;
    if (wait <= 0) {
      clearInterval(countdown);
      status.textContent = "You may click again.";
    } else {
      tell();
    }
  }, 1000);
  document.body.dataset.limited = "yes";
});

showFields().then(() => { document.body.dataset.caching = "shown"; });

// The demo site's only script. Every page loads it with `defer`, so it runs
// once the HTML has been read and the page's elements exist.

// A sign, for the browser test, that the script ran at all.
document.body.dataset.jsLoaded = "yes";

// On a page with a <pre id="api-data">, ask the server for JSON and show it.
const apiData = document.getElementById("api-data");
if (apiData) {
  fetch("/api/data")
    .then((response) => {
      if (!response.ok) {
        throw new Error(`the server answered ${response.status}`);
      }
      return response.json();
    })
    .then((data) => {
      apiData.textContent = JSON.stringify(data, null, 2);
    })
    .catch((error) => {
      apiData.textContent = `Could not load /api/data: ${error.message}`;
    });
}

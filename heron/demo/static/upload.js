// The upload page (/upload): send the form with XMLHttpRequest, whose upload
// progress events move the bar (fetch has none), and show what the server
// computed for each file. Without this script the form still works: the
// browser posts it and the server answers with a page.

const form = document.getElementById("upload-form");
const progress = document.getElementById("upload-progress");
const status = document.getElementById("upload-status");
const results = document.getElementById("upload-results");

function showFiles(files) {
  const table = document.createElement("table");
  const head = table.insertRow();
  for (const title of ["file", "bytes", "SHA-256"]) {
    const cell = document.createElement("th");
    cell.textContent = title;
    head.appendChild(cell);
  }
  for (const file of files) {
    const row = table.insertRow();
    row.className = "upload-file";
    for (const value of [file.name, String(file.size), file.sha256]) {
      row.insertCell().textContent = value;  // text, never HTML: a file name is the sender's choice
    }
  }
  results.replaceChildren(table);
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("Accept", "application/json");
  request.responseType = "json";
  request.upload.addEventListener("progress", (progressEvent) => {
    if (progressEvent.lengthComputable) {
      progress.value = (100 * progressEvent.loaded) / progressEvent.total;
    }
  });
  request.addEventListener("load", () => {
    if (request.status === 200) {
      progress.value = 100;
      status.textContent = `Uploaded ${request.response.files.length} file(s).`;
      document.body.dataset.upload = "done";
      showFiles(request.response.files);
    } else {
      status.textContent = `The server answered ${request.status}.`;
      document.body.dataset.upload = "failed";
    }
  });
  request.addEventListener("error", () => {
    status.textContent = "The upload failed: the connection broke.";
    document.body.dataset.upload = "failed";
  });
  progress.hidden = false;
  progress.value = 0;
  status.textContent = "Uploading…";
  document.body.dataset.upload = "sending";
  request.send(new FormData(form));
});

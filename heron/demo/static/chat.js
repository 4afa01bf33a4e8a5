// The chat page's script: join the room over a WebSocket, show what the
// server sends, and send what is typed. The server speaks JSON, one object
// per message; its `type` says what happened (heron/demo/chat.py).

const joinForm = document.getElementById("chat-join");
const nameInput = document.getElementById("chat-name");
const roomSection = document.getElementById("chat-room");
const statusLine = document.getElementById("chat-status");
const membersLine = document.getElementById("chat-members");
const messageList = document.getElementById("chat-messages");
const sendForm = document.getElementById("chat-send");
const textInput = document.getElementById("chat-text");
const sendButton = sendForm.querySelector("button");

let socket = null;

joinForm.addEventListener("submit", (event) => {
  event.preventDefault();
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const name = encodeURIComponent(nameInput.value);
  socket = new WebSocket(`${scheme}//${location.host}/chat/ws?name=${name}`);
  socket.addEventListener("message", (message) => show(JSON.parse(message.data)));
  socket.addEventListener("close", (close) => {
    statusLine.textContent = `Disconnected (close code ${close.code}${close.reason ? ": " + close.reason : ""}).`;
    setSending(false);
    document.body.dataset.chat = "closed";
  });
  joinForm.hidden = true;
  roomSection.hidden = false;
});

// Leaving the page leaves the room. A browser may keep the page (and its
// socket) in its back/forward cache instead of unloading it, so say it.
window.addEventListener("pagehide", () => {
  if (socket) {
    socket.close(1000, "left the page");
  }
});

// Back to a page kept in that cache: its socket is closed, start afresh.
window.addEventListener("pageshow", (event) => {
  if (event.persisted && socket) {
    location.reload();
  }
});

sendForm.addEventListener("submit", (event) => {
  event.preventDefault();
  if (textInput.value.trim()) {
    socket.send(textInput.value);
  }
  textInput.value = "";
  textInput.focus();
});

// One message from the server: change the page to show it.
function show(event) {
  switch (event.type) {
    case "welcome":
      statusLine.textContent = `Connected as ${event.you}.`;
      event.history.forEach(addMessage);
      setSending(true);
      document.body.dataset.chat = "open";
      break;
    case "joined":
      addNotice(`${event.name} joined.`);
      break;
    case "left":
      addNotice(`${event.name} left.`);
      break;
    case "message":
      addMessage(event);
      break;
    case "error":
      addNotice(event.text);
      return;
  }
  if (event.members) {
    membersLine.textContent = event.members.join(", ");
  }
}

// Text from other people goes in with textContent, never as HTML.
function addMessage(message) {
  const item = document.createElement("li");
  const author = document.createElement("b");
  author.textContent = message.from;
  item.append(author, `: ${message.text}`);
  item.className = "chat-message";
  messageList.append(item);
  item.scrollIntoView({ block: "nearest" });
}

function addNotice(text) {
  const item = document.createElement("li");
  item.textContent = text;
  item.className = "chat-notice";
  messageList.append(item);
}

function setSending(enabled) {
  textInput.disabled = !enabled;
  sendButton.disabled = !enabled;
  if (enabled) {
    textInput.focus();
  }
}

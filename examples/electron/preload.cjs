// The renderer's only door to the main process: ask(prompt) -> { text, backend, gate }.
const { contextBridge, ipcRenderer } = require("electron");

contextBridge.exposeInMainWorld("inferaligner", { ask: (prompt) => ipcRenderer.invoke("ask", prompt) });

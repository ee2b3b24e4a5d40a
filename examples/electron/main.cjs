// Main process: loads the model and its vector file once, and answers the renderer's prompts with
// guidance on. The native addon lives in app.asar.unpacked (package.json "build.asarUnpack");
// inferaligner finds it there by itself.
//   INFERALIGNER_MODEL=/path/model.gguf INFERALIGNER_VECTORS=/path/vectors.gguf npm start
// (make the vector file once with `npx inferaligner extract --model model.gguf --out vectors.gguf`).
const { app, BrowserWindow, ipcMain } = require("electron");
const path = require("node:path");
const { LlamaModel, ChatSession, resolveGuidance, setLogger } = require("inferaligner");

let engine; // { model, session, guidance }, loaded on first use

async function loadEngine() {
  const modelPath = process.env.INFERALIGNER_MODEL;
  const vectors = process.env.INFERALIGNER_VECTORS;
  if (!modelPath || !vectors) throw new Error("set INFERALIGNER_MODEL and INFERALIGNER_VECTORS");
  setLogger((level, text) => console.log(`[inferaligner ${level}] ${text}`));
  const model = await LlamaModel.load(modelPath, { gpu: "auto" });
  const context = await model.createContext({ contextSize: 2048 });
  return { model, session: new ChatSession(context), guidance: resolveGuidance(model, { gate: vectors }) };
}

ipcMain.handle("ask", async (_event, prompt) => {
  engine ??= await loadEngine();
  engine.session.reset(); // one turn per question: each prompt is judged on its own
  const result = await engine.session.prompt(String(prompt), { maxTokens: 200, guidance: engine.guidance });
  return {
    text: result.text,
    backend: engine.model.info.backend,
    gate: { open: result.gate.open, mode: result.gate.mode, layers: result.gate.layers },
  };
});

app.whenReady().then(() => {
  const window = new BrowserWindow({
    width: 760,
    height: 560,
    webPreferences: { preload: path.join(__dirname, "preload.cjs"), contextIsolation: true, sandbox: true },
  });
  window.loadFile(path.join(__dirname, "index.html"));
});

app.on("window-all-closed", async () => {
  if (engine) await engine.model.dispose();
  app.quit();
});

// Shows the gate's decision (open: steered towards refusal; closed: the model's own answer) and
// the answer.
const gate = document.getElementById("gate");
const answer = document.getElementById("answer");

document.getElementById("ask").addEventListener("click", async () => {
  gate.className = "";
  gate.textContent = "thinking...";
  answer.textContent = "";
  try {
    const r = await window.inferaligner.ask(document.getElementById("prompt").value);
    const scores = r.gate.layers.map((l) => `layer ${l.layer}: ${l.score.toFixed(4)} vs ${l.threshold.toFixed(4)}`).join(", ");
    gate.className = r.gate.open ? "open" : "closed";
    gate.textContent = `gate ${r.gate.open ? "OPEN (guided)" : "closed (untouched)"} on ${r.backend}: ${scores}`;
    answer.textContent = r.text;
  } catch (error) {
    gate.textContent = `error: ${error.message}`;
  }
});

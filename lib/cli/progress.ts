// A one-line progress bar on stderr (redrawn in place on a terminal; silent otherwise, so logs stay clean).
export function progressBar(label: string): { update(done: number, total: number, note?: string): void; done(): void } {
  const tty = process.stderr.isTTY === true;
  const started = performance.now();
  let last = 0;
  return {
    update(done, total, note = "") {
      if (!tty) return;
      const now = performance.now();
      if (now - last < 100 && done < total) return;
      last = now;
      const width = 24;
      const filled = total > 0 ? Math.round((done / total) * width) : 0;
      const elapsed = (now - started) / 1000;
      const eta = done > 0 ? ((total - done) * elapsed) / done : 0;
      process.stderr.write(`\r${label} [${"#".repeat(filled)}${".".repeat(width - filled)}] ${done}/${total} ${note} ETA ${eta.toFixed(0)}s   `);
    },
    done() {
      if (tty) process.stderr.write("\n");
    },
  };
}

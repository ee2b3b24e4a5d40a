// A cheap identity of a model file, so that a gate file can tell whether it is used on the model it
// was extracted from. The full sha256 (recorded too) costs a read of the whole file, seconds for a
// large model at every start; this reads 64 evenly spaced 64 KiB samples and the size. Two different
// fine-tunes or quantizations of one model differ in (nearly) every sample; a false "same model"
// needs two files of equal size that agree on all 4 MiB sampled.
import { createHash } from "node:crypto";
import { closeSync, openSync, readSync, statSync } from "node:fs";

const SAMPLES = 64;
const SAMPLE_BYTES = 64 * 1024;
const PREFIX = "sampled-sha256-v1:";

const cache = new Map<string, { stamp: string; fingerprint: string }>();

/** `sampled-sha256-v1:<hex>` of a file; cached per path until its size or mtime changes. */
export function fileFingerprint(path: string): string {
  const st = statSync(path);
  const stamp = `${st.size}:${st.mtimeMs}:${st.ino}`;
  const hit = cache.get(path);
  if (hit?.stamp === stamp) return hit.fingerprint;
  const hash = createHash("sha256").update(String(st.size));
  const buf = Buffer.alloc(SAMPLE_BYTES);
  const fd = openSync(path, "r");
  try {
    const span = Math.max(0, st.size - SAMPLE_BYTES);
    for (let i = 0; i < SAMPLES; i++) {
      const at = Math.floor((span * i) / (SAMPLES - 1));
      const n = readSync(fd, buf, 0, SAMPLE_BYTES, at);
      hash.update(buf.subarray(0, n));
    }
  } finally {
    closeSync(fd);
  }
  const fingerprint = PREFIX + hash.digest("hex");
  cache.set(path, { stamp, fingerprint });
  return fingerprint;
}

// What a context is created with (ContextOptions) and what llama.cpp made of it (ContextInfo).

/** What llama.cpp made of the context options (it may round sizes): `context.info`. */
export interface ContextInfo {
  /** Tokens the KV cache holds (`n_ctx`). */
  contextSize: number;
  /** Most tokens per llama_decode call (`n_batch`). */
  batchSize: number;
  /** Physical batch (`n_ubatch`). */
  ubatchSize: number;
  /** Parallel sequences (`n_seq_max`). */
  sequences: number;
  /** CPU threads for generation (`n_threads`). */
  threads: number;
  /** CPU threads for prompt processing (`n_threads_batch`). */
  threadsBatch: number;
  /** Whether sliding-window layers keep their full cache (`swa_full`). */
  swaFull: boolean;
  /** Whether the sequences share one KV buffer (`kv_unified`). */
  kvUnified: boolean;
  /** Whether the eval callback is installed (guidance and activation capture need it). */
  evalHook: boolean;
}

export interface ContextOptions {
  /** Tokens the context holds (`n_ctx`). Defaults to the model's training context, at most 4096. */
  contextSize?: number;
  /** Logical batch: most tokens per llama_decode call (`n_batch`). Defaults to the smaller of 512 and `contextSize`. */
  batchSize?: number;
  /** Physical batch (`n_ubatch`). Defaults to `512`, or batchSize if smaller. */
  ubatchSize?: number;
  /**
   * CPU threads (`n_threads`, `n_threads_batch`). Defaults to the physical cores, as llama.cpp
   * (hyper-threads slow ggml's spin-waiting workers; on Linux counted from /proc/cpuinfo, elsewhere
   * the logical processors). More than the logical processors never helps and can stall a decode
   * for minutes, so a larger number is lowered to that count (`info.threads` reports the number used).
   */
  threads?: number;
  /**
   * Keep the full KV cache for sliding-window layers (`swa_full`). Costs memory on SWA models
   * (Gemma 3) but lets any cached prefix be reused. Defaults to `true`.
   */
  swaFull?: boolean;
  /** Flash attention (`flash_attn_type`). Defaults to `"auto"`. */
  flashAttention?: "auto" | boolean;
  /** Parallel sequences (`n_seq_max`); used by batched activation capture. Defaults to `1`. */
  sequences?: number;
  /** One KV buffer for all sequences (`kv_unified`). Defaults to llama.cpp's default (`false`). */
  kvUnified?: boolean;
  /**
   * Install the eval callback (`cb_eval`) that guidance and activation capture use. When no
   * guidance is active it asks for no tensor, so the graph runs as without it. Defaults to `true`.
   */
  evalHook?: boolean;
}

// The seam for per-layer work inside llama_decode. llama.cpp calls the context's cb_eval for each
// graph node, first asking whether we want the node's data (ask = true), then handing it over after
// computing it (ask = false), before later nodes read it: an observer may read a tensor or add to
// it in place. Only contexts created with `evalHook: true` install the trampoline, because any
// installed callback makes the scheduler split and synchronise the graph.
#pragma once

#include "ggml.h"

namespace inferaligner {

class EvalHook {
 public:
  virtual ~EvalHook() = default;
  // Runs on the decoding thread. ask: return true to receive `t` after it is computed.
  // !ask: `t` is computed; return false to cancel the rest of the graph.
  virtual bool OnTensor(ggml_tensor* t, bool ask) = 0;
};

}  // namespace inferaligner

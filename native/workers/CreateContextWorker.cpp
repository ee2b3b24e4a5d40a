#include "workers/CreateContextWorker.h"

#include "Context.h"
#include "Log.h"
#include "Model.h"

namespace inferaligner {

CreateContextWorker::CreateContextWorker(Napi::Env env, AddonContext* context, Napi::Object owner)
    : PromiseWorker(env, "inferaligner:CreateContext", owner), context_(context) {}

void CreateContextWorker::Run() {
  InstallLogCallback();  // see LoadModelWorker: another llama.cpp user may have replaced it
  BeginLogCapture();
  llama_context* ctx = llama_init_from_model(context_->llamaModel(), context_->params());
  if (!ctx) {
    const std::string log = CapturedLog();
    throw AddonError(ErrorCode::ContextCreate, "failed to create the context" + (log.empty() ? "" : ": " + log));
  }
  context_->Adopt(ctx);
}

void CreateContextWorker::Finish() { context_->EndCreation(); }

}  // namespace inferaligner

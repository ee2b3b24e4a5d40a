#include "workers/TokenizeWorker.h"

#include <limits>
#include <new>

#include "Model.h"
#include "common.h"

namespace inferaligner {

TokenizeWorker::TokenizeWorker(Napi::Env env, AddonModel* model, Napi::Object owner, std::string text, bool addSpecial,
    bool parseSpecial, int32_t limit)
    : PromiseWorker(env, "inferaligner:Tokenize", owner),
      model_(model),
      text_(std::move(text)),
      addSpecial_(addSpecial),
      parseSpecial_(parseSpecial),
      limit_(limit) {}

void TokenizeWorker::Run() {
  if (text_.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max() - 8)) {
    throw AddonError(ErrorCode::InvalidArgument, "the text is too long to tokenize (2 GB or more)");
  }
  const int32_t length = static_cast<int32_t>(text_.size());
  try {
    tokens_.resize(text_.size() + 4);
    int32_t n = llama_tokenize(model_->vocab, text_.data(), length, tokens_.data(),
        static_cast<int32_t>(tokens_.size()), addSpecial_, parseSpecial_);
    if (n < 0) {
      tokens_.resize(-n);
      n = llama_tokenize(model_->vocab, text_.data(), length, tokens_.data(), static_cast<int32_t>(tokens_.size()),
          addSpecial_, parseSpecial_);
    }
    if (n < 0) throw AddonError(ErrorCode::InvalidArgument, "the text could not be tokenized");
    tokens_.resize(n);
  } catch (const AddonError&) {
    throw;
  } catch (const std::bad_alloc&) {
    throw AddonError(
        ErrorCode::InvalidArgument, "out of memory tokenizing a text of " + std::to_string(text_.size()) + " bytes");
  } catch (const std::exception& e) {
    throw AddonError(ErrorCode::ModelInvalid,
        std::string("the model's vocabulary is broken: llama.cpp failed with '") + e.what() + "'");
  }
  if (limit_ > 0 && static_cast<int64_t>(tokens_.size()) > limit_) {
    throw AddonError(ErrorCode::ContextOverflow, "the prompt is " + std::to_string(tokens_.size()) +
                                                     " tokens, more than the context's " + std::to_string(limit_));
  }
}

Napi::Value TokenizeWorker::Resolve(Napi::Env env) { return MakeTokenArray(env, tokens_); }

void TokenizeWorker::Finish() { model_->activeJobs--; }

}  // namespace inferaligner

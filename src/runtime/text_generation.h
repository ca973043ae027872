// Generating text on a Session: sampling, streaming UTF-8 decoding, stop strings, reasoning
// kept apart from the answer, interruption. Used by `whale chat`, `whale generate -p` and
// (later) the API server.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "runtime/sampler.h"
#include "runtime/session.h"
#include "text/reasoning.h"
#include "text/tokenizer.h"

namespace whale {

struct GenerationRequest {
  std::vector<std::int32_t> prompt;  // token ids, BOS included when the format wants it
  SamplingParams sampling;
  std::int64_t max_tokens = 512;
  std::vector<std::string> stop;     // stop strings: generation ends before the first match
  ReasoningStart reasoning_start = ReasoningStart::kAnswer;
};

enum class FinishReason { kStop, kLength, kInterrupted, kContextFull };
const char* finish_reason_name(FinishReason reason);  // "stop", "length", ...

struct GenerationResult {
  std::string reasoning;  // text between <think> and </think>
  std::string content;    // the answer
  std::vector<std::int32_t> tokens;  // generated ids (without the prompt)
  FinishReason finish = FinishReason::kStop;
};

// Called with each newly decided piece of text; return false to stop generating.
using PieceCallback = std::function<bool(const ReasoningSplit& piece)>;

// Runs the prompt through `session` (reusing its cached prefix) and generates until EOS, a
// stop string, max_tokens, a full context, `on_piece` returning false, or `interrupt` set.
GenerationResult generate_text(Session& session, const Tokenizer& tokenizer,
                               const GenerationRequest& request, const PieceCallback& on_piece,
                               const std::atomic<bool>* interrupt = nullptr);

}  // namespace whale

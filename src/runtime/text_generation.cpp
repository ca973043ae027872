#include "runtime/text_generation.h"

#include <algorithm>

namespace whale {

const char* finish_reason_name(FinishReason reason) {
  switch (reason) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kInterrupted: return "interrupted";
    case FinishReason::kContextFull: return "context_full";
  }
  return "stop";
}

namespace {

// Length of the longest suffix of `text` that is a proper prefix of some stop string: that
// much must be held back until the next piece decides it.
std::size_t held_for_stop(const std::string& text, const std::vector<std::string>& stops) {
  std::size_t hold = 0;
  for (const std::string& s : stops)
    for (std::size_t n = std::min(s.size() - 1, text.size()); n > hold; --n)
      if (text.compare(text.size() - n, n, s, 0, n) == 0) {
        hold = n;
        break;
      }
  return hold;
}

}  // namespace

GenerationResult generate_text(Session& session, const Tokenizer& tokenizer,
                               const GenerationRequest& request, const PieceCallback& on_piece,
                               const std::atomic<bool>* interrupt) {
  std::vector<std::string> stops;
  for (const auto& s : request.stop)
    if (!s.empty()) stops.push_back(s);
  Sampler sampler(request.sampling, static_cast<std::int64_t>(tokenizer.size()));
  StreamingDecoder decoder(tokenizer, /*skip_special=*/true);
  ReasoningSplitter splitter(request.reasoning_start);
  GenerationResult result;
  std::string pending;  // decoded text not yet released (may start a stop string)
  bool keep_going = true;
  bool stopped_by_string = false;

  const auto release = [&](std::string_view text) {
    ReasoningSplit piece = splitter.feed(text);
    result.reasoning += piece.reasoning;
    result.content += piece.content;
    if ((!piece.reasoning.empty() || !piece.content.empty()) && on_piece && !on_piece(piece))
      keep_going = false;
  };

  session.set_tokens(request.prompt);
  std::vector<std::int32_t> history(request.prompt);
  const auto eos = tokenizer.eos_id();
  result.finish = FinishReason::kLength;
  for (std::int64_t step = 0; step < request.max_tokens; ++step) {
    if (interrupt != nullptr && interrupt->load()) {
      result.finish = FinishReason::kInterrupted;
      break;
    }
    const std::int32_t next = sampler.sample(session.logits(), history);
    if (eos && next == *eos) {
      result.finish = FinishReason::kStop;
      break;
    }
    result.tokens.push_back(next);
    history.push_back(next);
    pending += decoder.push(next);
    bool stopped = false;
    if (!stops.empty()) {
      std::size_t cut = std::string::npos;
      for (const auto& s : stops) cut = std::min(cut, pending.find(s));
      if (cut != std::string::npos) {
        release(std::string_view(pending).substr(0, cut));
        pending.clear();
        stopped = true;
      }
    }
    if (stopped) {
      result.finish = FinishReason::kStop;
      stopped_by_string = true;
      break;
    }
    const std::size_t hold = held_for_stop(pending, stops);
    release(std::string_view(pending).substr(0, pending.size() - hold));
    pending.erase(0, pending.size() - hold);
    if (!keep_going) {
      result.finish = FinishReason::kInterrupted;
      break;
    }
    if (step + 1 == request.max_tokens) break;
    if (static_cast<std::int64_t>(session.tokens().size()) >= session.context()) {
      result.finish = FinishReason::kContextFull;
      break;
    }
    session.append(next);
  }
  if (!stopped_by_string) {
    pending += decoder.flush();
    release(pending);
  }
  const ReasoningSplit tail = splitter.finish();
  result.reasoning += tail.reasoning;
  result.content += tail.content;
  if ((!tail.reasoning.empty() || !tail.content.empty()) && on_piece) on_piece(tail);
  return result;
}

}  // namespace whale

#include "text/tokenizer.h"

#include "text/tokenizer_impl.h"
#include "text/utf8.h"
#include "util/error.h"

namespace whale {
namespace {

// Per-thread buffers, so encode allocates little and stays thread-safe.
struct EncodeScratch {
  PreTokenizerScratch pre;
  std::vector<TextSegment> raw_segments, segments;
  std::vector<std::string_view> words;
  std::string normalized;
};

EncodeScratch& encode_scratch() {
  thread_local EncodeScratch scratch;
  return scratch;
}

}  // namespace

void Tokenizer::Impl::encode(std::string_view text, std::vector<std::int32_t>& out) const {
  // Hugging Face's order: added tokens matched in the raw text, the rest normalized, added
  // tokens matched in that, the rest pre-tokenized into words, each word through BPE.
  EncodeScratch& s = encode_scratch();
  s.raw_segments.clear();
  if (raw_tokens.empty()) {
    if (!text.empty()) s.raw_segments.push_back({text, -1});
  } else {
    raw_tokens.split(text, s.pre.regex, s.raw_segments);
  }
  for (const TextSegment& raw : s.raw_segments) {
    if (raw.token_id >= 0) {
      out.push_back(raw.token_id);
      continue;
    }
    std::string_view piece = raw.text;
    if (!normalizer.empty()) {
      normalizer.apply(piece, s.pre.regex, s.normalized);
      piece = s.normalized;
    }
    s.segments.clear();
    if (normalized_tokens.empty()) {
      if (!piece.empty()) s.segments.push_back({piece, -1});
    } else {
      normalized_tokens.split(piece, s.pre.regex, s.segments);
    }
    for (const TextSegment& segment : s.segments) {
      if (segment.token_id >= 0) {
        out.push_back(segment.token_id);
        continue;
      }
      s.words.clear();
      pre_tokenizer.split(segment.text, s.pre, s.words);
      for (const std::string_view word : s.words) model->encode_word(word, out);
    }
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::~Tokenizer() = default;
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;

std::vector<std::int32_t> Tokenizer::encode(std::string_view text, bool add_special) const {
  if (const auto bad = first_invalid_utf8(text))
    fail("tokenizer: input text is not valid UTF-8 at byte {} (of {})", *bad, text.size());
  std::vector<std::int32_t> ids;
  ids.reserve(text.size() / 3 + 2);
  if (add_special && impl_->add_bos && impl_->bos) ids.push_back(*impl_->bos);
  impl_->encode(text, ids);
  if (add_special && impl_->add_eos && impl_->eos) ids.push_back(*impl_->eos);
  return ids;
}

std::vector<std::int32_t> Tokenizer::encode_lossy(std::string_view bytes, bool add_special) const {
  if (!first_invalid_utf8(bytes)) return encode(bytes, add_special);
  return encode(utf8_lossy(bytes), add_special);
}

std::string Tokenizer::decode(std::span<const std::int32_t> ids, bool skip_special) const {
  // The ByteLevel decoder joins the bytes of all tokens first, so a character split across
  // tokens (even around a skipped special token) comes back whole.
  std::string bytes;
  for (const std::int32_t id : ids) {
    if (skip_special && is_special(id)) continue;
    bytes.append(token_bytes(id));
  }
  if (!first_invalid_utf8(bytes)) return bytes;
  return utf8_lossy(bytes);
}

std::optional<std::int32_t> Tokenizer::token_id(std::string_view token) const {
  const auto it = impl_->added_ids.find(token);
  if (it != impl_->added_ids.end()) return it->second;
  return impl_->model->token_id(token);
}

std::string_view Tokenizer::token_text(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->token_text.size()) return {};
  return impl_->token_text[static_cast<std::size_t>(id)];
}

std::string_view Tokenizer::token_bytes(std::int32_t id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= impl_->token_bytes.size()) return {};
  return impl_->token_bytes[static_cast<std::size_t>(id)];
}

bool Tokenizer::is_special(std::int32_t id) const {
  return id >= 0 && static_cast<std::size_t>(id) < impl_->token_flags.size() &&
         (impl_->token_flags[static_cast<std::size_t>(id)] & Impl::kSpecial);
}

std::size_t Tokenizer::size() const {
  return impl_->token_text.size();
}
std::optional<std::int32_t> Tokenizer::bos_id() const {
  return impl_->bos;
}
std::optional<std::int32_t> Tokenizer::eos_id() const {
  return impl_->eos;
}
bool Tokenizer::add_bos() const {
  return impl_->add_bos;
}
bool Tokenizer::add_eos() const {
  return impl_->add_eos;
}

StreamingDecoder::StreamingDecoder(const Tokenizer& tokenizer, bool skip_special)
    : tokenizer_(&tokenizer), skip_special_(skip_special) {}

std::string StreamingDecoder::push(std::int32_t id) {
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  pending_.append(tokenizer_->token_bytes(id));
  // Everything up to a trailing unfinished (but so far well-formed) character is final.
  std::size_t keep_from = pending_.size();
  for (std::size_t i = 0; i < pending_.size();) {
    const Utf8Step step = next_utf8(pending_, i);
    if (step.truncated) {
      keep_from = i;
      break;
    }
    i += step.length;
  }
  std::string text;
  append_utf8_lossy(text, std::string_view(pending_).substr(0, keep_from));
  pending_.erase(0, keep_from);
  return text;
}

std::string StreamingDecoder::flush() {
  std::string text = utf8_lossy(pending_);
  pending_.clear();
  return text;
}

}  // namespace whale

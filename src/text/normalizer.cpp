#include "text/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>

#include <algorithm>

#include "util/error.h"

namespace whale {

void Normalizer::add_replace(Regex pattern, std::string content) {
  Step step{Kind::replace, {}, std::move(content)};
  step.regex.push_back(std::move(pattern));
  steps_.push_back(std::move(step));
}

void Normalizer::add_prepend(std::string prefix) {
  steps_.push_back(Step{Kind::prepend, {}, std::move(prefix)});
}

void Normalizer::add_strip(bool left, bool right) {
  Step step{Kind::strip, {}, {}};
  const std::string where = "normalizer Strip";
  step.regex.emplace_back(left ? "\\A\\s+" : "(?!)", Regex::Syntax::oniguruma, where);
  step.regex.emplace_back(right ? "\\s+\\z" : "(?!)", Regex::Syntax::oniguruma, where);
  steps_.push_back(std::move(step));
}

void Normalizer::add_unicode(UnicodeForm form) {
  Step step{Kind::unicode, {}, {}};
  step.form = form;
  steps_.push_back(std::move(step));
}

namespace {

// `text` (valid UTF-8) in Unicode normalization form `form`, written to `out`.
void normalize_unicode(Normalizer::UnicodeForm form, const std::string& text, std::string& out) {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* n = nullptr;
  switch (form) {
    case Normalizer::UnicodeForm::nfc: n = icu::Normalizer2::getNFCInstance(status); break;
    case Normalizer::UnicodeForm::nfd: n = icu::Normalizer2::getNFDInstance(status); break;
    case Normalizer::UnicodeForm::nfkc: n = icu::Normalizer2::getNFKCInstance(status); break;
    case Normalizer::UnicodeForm::nfkd: n = icu::Normalizer2::getNFKDInstance(status); break;
  }
  if (U_FAILURE(status) || n == nullptr)
    fail("tokenizer normalizer: ICU has no Unicode normalization data ({})", u_errorName(status));
  out.clear();
  icu::StringByteSink<std::string> sink(&out, static_cast<std::int32_t>(text.size()));
  n->normalizeUTF8(0, icu::StringPiece(text.data(), static_cast<std::int32_t>(text.size())), sink,
                   nullptr, status);
  if (U_FAILURE(status))
    fail("tokenizer normalizer: Unicode normalization failed ({})", u_errorName(status));
}

}  // namespace

void Normalizer::apply(std::string_view text, RegexScratch& scratch, std::string& out) const {
  out.assign(text);
  std::string next;
  for (const Step& step : steps_) {
    std::size_t begin = 0, end = 0;
    switch (step.kind) {
      case Kind::replace: {
        next.clear();
        std::size_t copied = 0;
        step.regex[0].for_each_match(out, scratch, [&](std::size_t b, std::size_t e) {
          next.append(out, copied, b - copied);
          next.append(step.content);
          copied = e;
        });
        next.append(out, copied, std::string::npos);
        out.swap(next);
        break;
      }
      case Kind::prepend:
        if (!out.empty()) out.insert(0, step.content);
        break;
      case Kind::unicode:
        // ASCII is in every normalization form; most text is ASCII, so skip ICU for it.
        if (std::any_of(out.begin(), out.end(), [](char c) { return (c & 0x80) != 0; })) {
          normalize_unicode(step.form, out, next);
          out.swap(next);
        }
        break;
      case Kind::strip:
        if (step.regex[1].find(out, 0, scratch, &begin, &end)) out.erase(begin);
        if (step.regex[0].find(out, 0, scratch, &begin, &end)) out.erase(0, end);
        break;
    }
  }
}

}  // namespace whale

#include "text/normalizer.h"

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
      case Kind::strip:
        if (step.regex[1].find(out, 0, scratch, &begin, &end)) out.erase(begin);
        if (step.regex[0].find(out, 0, scratch, &begin, &end)) out.erase(0, end);
        break;
    }
  }
}

}  // namespace whale

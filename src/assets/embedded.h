// Files built into the whale binary: the DeepSeek-V3 tokenizer and its config (chat template),
// which the demo model made on first run needs on a machine that cannot download anything.
#pragma once

#include <string_view>

namespace whale::assets {

std::string_view deepseek_v3_tokenizer_json();
std::string_view deepseek_v3_tokenizer_config_json();

}  // namespace whale::assets

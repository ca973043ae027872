// parse_json + parse_deepseek_config on arbitrary bytes, then the derived quantities the model
// computes from a config. Only whale::Error may escape.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "io/deepseek_config.h"
#include "util/error.h"
#include "util/json_file.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const nlohmann::json json = whale::parse_json(text, "config.json");
    const whale::DeepSeekConfig c = whale::parse_deepseek_config(json, "config.json");
    // What the loader derives from the config: none of it may overflow.
    volatile double sink = c.softmax_scale() + c.rope_magnitude();
    volatile std::int64_t widths = c.qk_head_dim() + c.latent_width() +
                                   c.num_attention_heads * (c.qk_nope_head_dim + c.v_head_dim) +
                                   c.num_attention_heads * c.qk_head_dim() +
                                   c.n_shared_experts * c.moe_intermediate_size;
    if (c.quantization)  // the FP8 scale grid of the widest weight, [nh*dq, H]
      widths = widths +
               (c.num_attention_heads * c.qk_head_dim() + c.quantization->block_rows - 1) /
                   c.quantization->block_rows +
               (c.hidden_size + c.quantization->block_cols - 1) / c.quantization->block_cols;
    for (std::int64_t i = 0; i < c.num_hidden_layers && i < 4; ++i) (void)c.is_moe_layer(i);
    (void)sink;
    (void)widths;
    (void)c.describe_family();
  } catch (const whale::Error&) {
    // the one allowed outcome for bad input
  }
  return 0;
}

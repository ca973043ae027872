#include "cli/quantize_metadata.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <tuple>

#include "text/tokenizer.h"
#include "util/error.h"
#include "util/json_file.h"

namespace whale::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// ---------------------------------------------------------------------------------------------
// Tokenizer metadata from tokenizer.json + tokenizer_config.json, as gguf-py's gpt2 vocabulary
// and SpecialVocab write it.

std::string token_content(const json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_object() && v.contains("content") && v["content"].is_string())
    return v["content"].get<std::string>();
  return {};
}

// Added tokens that the converter makes CONTROL even when tokenizer.json does not mark them
// special (TextModel.does_token_look_special): <|...|>, <｜...｜> (DeepSeek's), and a few names.
bool looks_special(std::string_view t) {
  static constexpr std::string_view kNames[] = {"<pad>", "<mask>", "<2mass>", "[@BOS@]"};
  for (const std::string_view name : kNames)
    if (t == name) return true;
  const auto enclosed = [&](std::string_view open, std::string_view close) {
    return t.starts_with(open) && t.ends_with(close);  // may overlap, as in Python
  };
  return enclosed("<|", "|>") || enclosed("<\uff5c", "\uff5c>") || enclosed("<unused", ">");
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  for (std::size_t at; (at = text.find(from)) != std::string_view::npos;) {
    out.append(text.substr(0, at)).append(to);
    text.remove_prefix(at + from.size());
  }
  return out.append(text);
}

std::string special_token_id(const json& step) {
  const json& t = step.value("SpecialToken", json::object());
  return t.is_object() ? t.value("id", "") : "";
}
std::string sequence_id(const json& step) {
  const json& t = step.value("Sequence", json::object());
  return t.is_object() ? t.value("id", "") : "";
}

// Which special tokens a post-processor adds, read as gguf-py's SpecialVocab reads it (its
// "crude parsing" of a TemplateProcessing): BOS when the single template starts with the BOS (or
// CLS) token, EOS when it ends with the EOS token, SEP when the pair template puts the SEP or EOS
// token between A and B.
template <typename SetAdd>
void add_tokens_of_post_processor(const json& p, std::string bos, const std::string& eos,
                                  const std::string& sep, const std::string& cls,
                                  const SetAdd& set_add) {
  const std::string type = p.value("type", "");
  if (type == "RobertaProcessing") {
    for (const char* typ : {"bos", "eos", "sep"}) set_add(typ, true);
    return;
  }
  if (type != "TemplateProcessing") return;
  const json single = p.value("single", json::array()), pair = p.value("pair", json::array());
  std::string first, last;
  if (single.is_array() && single.size() > 1) {
    if (first = special_token_id(single.front()); !first.empty()) {
      if (bos.empty()) bos = first;  // gguf-py then takes it as the BOS token
      set_add("bos", first == bos || first == cls);
    }
    if (last = special_token_id(single.back()); !last.empty()) set_add("eos", last == eos);
  }
  if (!pair.is_array() || pair.empty()) return;
  std::size_t begin = 0, end = pair.size();
  if (!first.empty() && special_token_id(pair.front()) == first) begin = 1;
  if (!last.empty() && special_token_id(pair.back()) == last) end -= 1;
  if (end <= begin + 2 || sequence_id(pair[begin]) != "A" || sequence_id(pair[end - 1]) != "B")
    return;
  // A [sep] [eos] B
  bool add_sep = false;
  const std::string between = special_token_id(pair[begin + 1]);
  if ((between == sep || between == eos) && !between.empty() && last.empty()) add_sep = true;
  if (end - begin == 4) {
    const std::string second = special_token_id(pair[begin + 2]);
    if ((second == sep || second == eos) && !second.empty()) add_sep = true;
  }
  set_add("sep", add_sep);
}

}  // namespace

GgufTokenizer read_gguf_tokenizer(const std::string& folder, std::int64_t vocab_size,
                                  const json& config) {
  const std::string path = folder + "/tokenizer.json";
  if (!fs::exists(path))
    fail(
        "{}: missing; whale quantize needs the model's tokenizer.json (a GGUF carries its "
        "tokenizer)",
        path);
  const json tok = read_json_file(path);
  GgufTokenizer out;

  // Pre-tokenizer: Sequence[Split(regex)..., ByteLevel] or ByteLevel(use_regex) alone.
  const json pre = tok.value("pre_tokenizer", json());
  std::vector<std::string> splits;
  bool gpt2_regex = false;
  const auto describe = [&] { return pre.dump().substr(0, 200); };
  if (pre.is_object() && pre.value("type", "") == "ByteLevel") {
    gpt2_regex = pre.value("use_regex", true);
  } else if (pre.is_object() && pre.value("type", "") == "Sequence") {
    const json& steps = pre["pretokenizers"];
    for (std::size_t i = 0; i < steps.size(); ++i) {
      const std::string type = steps[i].value("type", "");
      if (type == "Split" && steps[i]["pattern"].contains("Regex"))
        splits.push_back(steps[i]["pattern"]["Regex"].get<std::string>());
      else if (!(type == "ByteLevel" && i + 1 == steps.size()))
        fail("{}: pre_tokenizer step {} is {}; whale knows Split(Regex) steps then ByteLevel", path,
             i, type);
    }
  }
  const auto name = gguf_pre_tokenizer_name(splits, gpt2_regex);
  if (!name)
    fail(
        "{}: pre_tokenizer {}... matches none of the pre-tokenizers whale knows (deepseek-v3, "
        "deepseek-llm, deepseek-coder, qwen2, llama-bpe, gpt2)",
        path, describe());
  out.pre = std::string(*name);

  // Tokens by id: the BPE vocabulary, then added tokens; gaps up to vocab_size are [PADn].
  constexpr std::int32_t kNormal = 1, kControl = 3, kUserDefined = 4, kUnused = 5;
  std::map<std::int64_t, std::pair<std::string, std::int32_t>> by_id;
  std::map<std::string, std::int64_t> id_of;
  for (const auto& [text, id] : tok.at("model").at("vocab").items()) {
    by_id[id.get<std::int64_t>()] = {text, kNormal};
    id_of.emplace(text, id.get<std::int64_t>());
  }
  for (const json& a : tok.value("added_tokens", json::array())) {
    const std::int64_t id = a.at("id").get<std::int64_t>();
    const std::string content = a.at("content").get<std::string>();
    id_of[content] = id;
    if (a.value("special", false) || looks_special(content)) {
      by_id[id] = {content, kControl};
    } else {
      // The converter pre-normalizes user-defined tokens' spaces ("\u2581" -> ' ').
      by_id[id] = {replace_all(content, "\u2581", " "), kUserDefined};
    }
  }
  const std::int64_t count = std::max(vocab_size, by_id.empty() ? 0 : by_id.rbegin()->first + 1);
  for (std::int64_t i = 0; i < count; ++i) {
    const auto it = by_id.find(i);
    out.tokens.push_back(it == by_id.end() ? fmt::format("[PAD{}]", i) : it->second.first);
    out.types.push_back(it == by_id.end() ? kUnused : it->second.second);
  }
  for (const json& m : tok.at("model").value("merges", json::array())) {
    if (m.is_string())
      out.merges.push_back(m.get<std::string>());
    else if (m.is_array() && m.size() == 2)
      out.merges.push_back(m[0].get<std::string>() + " " + m[1].get<std::string>());
    else
      fail("{}: model.merges holds {}, expected \"a b\" or [\"a\", \"b\"]", path, m.dump());
  }

  // Special ids from tokenizer_config.json's X_token (by content), else config.json's X_token_id.
  const std::string config_path = folder + "/tokenizer_config.json";
  const json tc = fs::exists(config_path) ? read_json_file(config_path) : json::object();
  static const std::pair<const char*, const char*> kSpecial[] = {
      {"bos", "bos_token_id"},       {"eos", "eos_token_id"}, {"unk", "unknown_token_id"},
      {"sep", "seperator_token_id"},  // sic: llama.cpp's key
      {"pad", "padding_token_id"},   {"cls", "cls_token_id"}, {"mask", "mask_token_id"},
  };
  const auto special = [&](const char* typ) {
    return token_content(tc.value(std::string(typ) + "_token", json()));
  };
  for (const auto& [typ, key] : kSpecial) {
    std::optional<std::int64_t> id;
    if (const std::string content = special(typ); !content.empty())
      if (const auto it = id_of.find(content); it != id_of.end()) id = it->second;
    if (!id && config.contains(std::string(typ) + "_token_id") &&
        config[std::string(typ) + "_token_id"].is_number_integer())
      id = config[std::string(typ) + "_token_id"].get<std::int64_t>();
    if (id && *id >= 0 && *id < count)
      out.ids.emplace_back(fmt::format("tokenizer.ggml.{}", key), static_cast<std::uint32_t>(*id));
  }

  // add_X_token, in the order gguf-py's SpecialVocab sets them: what tokenizer.json's
  // post-processor adds, then tokenizer_config.json's add_X_token overriding.
  const auto set_add = [&](const char* typ, bool add) {
    const std::string key = fmt::format("tokenizer.ggml.add_{}_token", typ);
    for (auto& [k, v] : out.adds)
      if (k == key) {
        v = add;
        return;
      }
    out.adds.emplace_back(key, add);
  };
  const json post = tok.value("post_processor", json());
  if (post.is_object())
    for (const json& p : post.contains("processors") ? post["processors"] : json::array({post}))
      add_tokens_of_post_processor(p, special("bos"), special("eos"), special("sep"),
                                   special("cls"), set_add);
  for (const auto& [typ, key] : kSpecial)
    if (const auto it = tc.find(fmt::format("add_{}_token", typ));
        it != tc.end() && it->is_boolean())
      set_add(typ, it->get<bool>());
  // tokenizer_config.json's chat_template, else chat_template.jinja, else chat_template.json's.
  if (const auto it = tc.find("chat_template"); it != tc.end() && it->is_string()) {
    out.chat_template = it->get<std::string>();
  } else if (const std::string jinja = folder + "/chat_template.jinja"; fs::exists(jinja)) {
    std::ifstream in(jinja, std::ios::binary);
    if (!in) fail("{}: cannot open", jinja);
    std::ostringstream text;
    text << in.rdbuf();
    if (in.bad()) fail("{}: read error", jinja);
    out.chat_template = text.str();
  } else if (const std::string json_path = folder + "/chat_template.json"; fs::exists(json_path)) {
    const json t = read_json_file(json_path);
    if (t.is_object() && t.contains("chat_template") && t["chat_template"].is_string())
      out.chat_template = t["chat_template"].get<std::string>();
  }
  return out;
}

namespace {

// ---------------------------------------------------------------------------------------------
// Metadata, in the order the converter writes it.

std::uint32_t u32(std::int64_t v) {
  return static_cast<std::uint32_t>(v);
}
float f32(double v) {
  return static_cast<float>(v);
}

// general.*: the architecture, the sampling defaults of generation_config.json (gguf-py's
// Metadata.load reads them), the folder's name.
void set_general(GgufWriter& w, GgufArch arch, const std::string& folder) {
  w.set("general.architecture", std::string(gguf_arch_name(arch)));
  w.set("general.type", "model");
  const std::string generation_path = folder + "/generation_config.json";
  if (fs::exists(generation_path)) {
    const json g = read_json_file(generation_path);
    // generation_config.json field -> general.sampling.X, int32 or float32 as gguf-py writes them.
    static const std::tuple<const char*, const char*, bool> kSampling[] = {
        {"top_k", "top_k", true},
        {"top_p", "top_p", false},
        {"min_p", "min_p", false},
        {"xtc_probability", "xtc_probability", false},
        {"xtc_threshold", "xtc_threshold", false},
        {"temperature", "temp", false},
        {"penalty_last_n", "penalty_last_n", true},
        {"penalty_repeat", "penalty_repeat", false},
        {"mirostat", "mirostat", true},
        {"mirostat_tau", "mirostat_tau", false},
        {"mirostat_eta", "mirostat_eta", false},
    };
    if (g.contains("sequence") && g["sequence"].is_string())
      w.set("general.sampling.sequence", g["sequence"].get<std::string>());
    for (const auto& [field, key, integer] : kSampling) {
      const auto it = g.find(field);
      if (it == g.end() || !it->is_number()) continue;
      if (integer && !it->is_number_integer())
        fail("{}: field '{}' is {}, expected an integer", generation_path, field, it->dump());
      if (integer)
        w.set(fmt::format("general.sampling.{}", key), static_cast<std::int32_t>(it->get<int>()));
      else
        w.set(fmt::format("general.sampling.{}", key), it->get<float>());
    }
  }
  std::string name = fs::path(folder).filename().string();
  if (name.empty()) name = fs::path(folder).parent_path().filename().string();
  w.set("general.name", name);
}

}  // namespace

void set_deepseek_metadata(GgufWriter& w, const std::string& folder, const json& raw,
                           const DeepSeekConfig& c, std::uint32_t file_type) {
  const std::string a = "deepseek2.";
  set_general(w, GgufArch::kDeepSeek2, folder);
  w.set(a + "block_count", u32(c.num_hidden_layers));
  w.set(a + "context_length", u32(c.max_position_embeddings));
  w.set(a + "embedding_length", u32(c.hidden_size));
  w.set(a + "feed_forward_length", u32(c.intermediate_size));
  w.set(a + "attention.head_count", u32(c.num_attention_heads));
  w.set(a + "attention.head_count_kv", std::uint32_t{1});  // MLA as MQA over the latent
  if (c.rope_scaling) {
    const YarnScaling& y = *c.rope_scaling;
    const json& rs = raw["rope_scaling"];
    w.set(a + "rope.scaling.type", "yarn");
    w.set(a + "rope.scaling.factor", f32(y.factor));
    w.set(a + "rope.scaling.original_context_length", u32(y.original_max_position_embeddings));
    if (rs.contains("beta_fast")) w.set(a + "rope.scaling.yarn_beta_fast", f32(y.beta_fast));
    if (rs.contains("beta_slow")) w.set(a + "rope.scaling.yarn_beta_slow", f32(y.beta_slow));
  }
  w.set(a + "rope.freq_base", f32(c.rope_theta));
  w.set(a + "attention.layer_norm_rms_epsilon", f32(c.rms_norm_eps));
  if (c.n_routed_experts) {
    w.set(a + "expert_count", u32(*c.n_routed_experts));
    w.set(a + "expert_used_count", u32(c.num_experts_per_tok));
  }
  if (raw.contains("n_group") && !raw["n_group"].is_null())
    w.set(a + "expert_group_count", u32(c.n_group));
  if (raw.contains("topk_group") && !raw["topk_group"].is_null())
    w.set(a + "expert_group_used_count", u32(c.topk_group));
  if (raw.contains("scoring_func"))  // llama.cpp: 1 softmax, 2 sigmoid
    w.set(a + "expert_gating_func",
          std::uint32_t{c.scoring_func == ScoringFunc::kSigmoid ? 2u : 1u});
  w.set("general.file_type", file_type);
  w.set(a + "leading_dense_block_count",
        u32(c.n_routed_experts ? c.first_k_dense_replace : c.num_hidden_layers));
  w.set(a + "vocab_size", u32(c.vocab_size));
  if (c.q_lora_rank) w.set(a + "attention.q_lora_rank", u32(*c.q_lora_rank));
  w.set(a + "attention.kv_lora_rank", u32(c.kv_lora_rank));
  // Split MLA: the cache holds the latent (kv_lora_rank) plus the rope key per token.
  w.set(a + "attention.key_length", u32(c.kv_lora_rank + c.qk_rope_head_dim));
  w.set(a + "attention.value_length", u32(c.kv_lora_rank));
  w.set(a + "attention.key_length_mla", u32(c.qk_nope_head_dim + c.qk_rope_head_dim));
  w.set(a + "attention.value_length_mla", u32(c.v_head_dim));
  w.set(a + "expert_feed_forward_length",
        u32(c.n_routed_experts ? c.moe_intermediate_size : c.intermediate_size));
  w.set(a + "expert_shared_count", u32(c.n_shared_experts));
  if (raw.contains("routed_scaling_factor") && !raw["routed_scaling_factor"].is_null())
    w.set(a + "expert_weights_scale", f32(c.routed_scaling_factor));
  if (c.norm_topk_prob) w.set(a + "expert_weights_norm", true);
  w.set(a + "rope.dimension_count", u32(c.qk_rope_head_dim));
  if (c.rope_scaling && raw["rope_scaling"].contains("mscale_all_dim"))
    // llama.cpp's deepseek2 convention: yarn_log_multiplier = 0.1 * mscale_all_dim.
    w.set(a + "rope.scaling.yarn_log_multiplier", f32(0.1 * c.rope_scaling->mscale_all_dim));
  w.set("general.quantization_version", std::uint32_t{2});
}

// Qwen2Model / LlamaModel: TextModel's keys, Llama's vocab_size and rope.dimension_count.
// Llama 3 RoPE scaling is the tensor rope_freqs.weight, not metadata.
void set_dense_metadata(GgufWriter& w, GgufArch arch, const std::string& folder, const json& raw,
                        const DenseConfig& c, std::uint32_t file_type) {
  const std::string a = std::string(gguf_arch_name(arch)) + ".";
  set_general(w, arch, folder);
  w.set(a + "block_count", u32(c.num_hidden_layers));
  w.set(a + "context_length", u32(c.max_position_embeddings));
  w.set(a + "embedding_length", u32(c.hidden_size));
  w.set(a + "feed_forward_length", u32(c.intermediate_size));
  w.set(a + "attention.head_count", u32(c.num_attention_heads));
  if (raw.contains("num_key_value_heads"))
    w.set(a + "attention.head_count_kv", u32(c.num_key_value_heads));
  w.set(a + "rope.freq_base", f32(c.rope_theta));
  w.set(a + "attention.layer_norm_rms_epsilon", f32(c.rms_norm_eps));
  if (raw.contains("head_dim")) {
    w.set(a + "attention.key_length", u32(c.head_dim));
    w.set(a + "attention.value_length", u32(c.head_dim));
  }
  w.set("general.file_type", file_type);
  if (arch == GgufArch::kLlama) {
    w.set(a + "vocab_size", u32(c.vocab_size));
    w.set(a + "rope.dimension_count", u32(c.head_dim));
  }
  w.set("general.quantization_version", std::uint32_t{2});
}

void set_gguf_tokenizer(GgufWriter& w, const GgufTokenizer& t) {
  w.set("tokenizer.ggml.model", "gpt2");
  w.set("tokenizer.ggml.pre", t.pre);
  w.set("tokenizer.ggml.tokens", GgufValue::string_array(std::span<const std::string>(t.tokens)));
  w.set("tokenizer.ggml.token_type", GgufValue::array(std::span<const std::int32_t>(t.types)));
  w.set("tokenizer.ggml.merges", GgufValue::string_array(std::span<const std::string>(t.merges)));
  for (const auto& [key, id] : t.ids) w.set(key, id);
  for (const auto& [key, add] : t.adds) w.set(key, add);
  if (t.chat_template) w.set("tokenizer.chat_template", *t.chat_template);
}

}  // namespace whale::cli

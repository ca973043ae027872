// GGML type ids and block sizes as GGUF files store them. The expected values are the facts of
// llama.cpp's ggml.h (enum ggml_type) and ggml-common.h (the block_* structs and their
// static_asserts), written out here so that a wrong entry in dtype.cpp cannot go unnoticed.
#include <gtest/gtest.h>

#include "formats/dtype.h"

namespace whale {
namespace {

struct GgmlFact {
  DType dtype;
  std::uint32_t id;
  std::string_view name;
  std::int64_t block_elements;
  std::size_t block_bytes;
};

// block_q4_0 = f16 d + 16 bytes; q4_1 = 2 f16 + 16; q5_0 = f16 + 4 (qh) + 16; q5_1 = 2 f16 + 4
// + 16; q8_0 = f16 + 32; q8_1 = 2 f16 + 32; q2_K = 2 f16 + 16 scales + 64 qs; q3_K = 32 hmask
// + 64 qs + 12 scales + f16; q4_K = 2 f16 + 12 + 128; q5_K = 2 f16 + 12 + 32 qh + 128; q6_K =
// 128 ql + 64 qh + 16 scales + f16; q8_K = f32 + 256 + 16 int16; iq4_nl = f16 + 16; iq4_xs =
// f16 + u16 scales_h + 4 scales_l + 128.
constexpr GgmlFact kFacts[] = {
    {DType::kF32, 0, "F32", 1, 4},          {DType::kF16, 1, "F16", 1, 2},
    {DType::kQ4_0, 2, "Q4_0", 32, 18},      {DType::kQ4_1, 3, "Q4_1", 32, 20},
    {DType::kQ5_0, 6, "Q5_0", 32, 22},      {DType::kQ5_1, 7, "Q5_1", 32, 24},
    {DType::kQ8_0, 8, "Q8_0", 32, 34},      {DType::kQ8_1, 9, "Q8_1", 32, 36},
    {DType::kQ2_K, 10, "Q2_K", 256, 84},    {DType::kQ3_K, 11, "Q3_K", 256, 110},
    {DType::kQ4_K, 12, "Q4_K", 256, 144},   {DType::kQ5_K, 13, "Q5_K", 256, 176},
    {DType::kQ6_K, 14, "Q6_K", 256, 210},   {DType::kQ8_K, 15, "Q8_K", 256, 292},
    {DType::kIQ4_NL, 20, "IQ4_NL", 32, 18}, {DType::kIQ4_XS, 23, "IQ4_XS", 256, 136},
    {DType::kI8, 24, "I8", 1, 1},           {DType::kI16, 25, "I16", 1, 2},
    {DType::kI32, 26, "I32", 1, 4},         {DType::kI64, 27, "I64", 1, 8},
    {DType::kF64, 28, "F64", 1, 8},         {DType::kBF16, 30, "BF16", 1, 2},
};

TEST(GgmlTypes, IdsBlockSizesAndNamesMatchGgml) {
  for (const GgmlFact& f : kFacts) {
    SCOPED_TRACE(f.name);
    EXPECT_EQ(dtype_from_ggml_type(f.id), f.dtype);
    EXPECT_EQ(ggml_type_of(f.dtype), f.id);
    EXPECT_EQ(ggml_type_name(f.id), f.name);
    EXPECT_EQ(dtype_name(f.dtype), f.name);
    EXPECT_EQ(dtype_block_elements(f.dtype), f.block_elements);
    EXPECT_EQ(dtype_block_bytes(f.dtype), f.block_bytes);
    EXPECT_EQ(dtype_row_bytes(f.dtype, 4 * f.block_elements),
              static_cast<std::int64_t>(4 * f.block_bytes));
  }
}

TEST(GgmlTypes, IdsWhaleDoesNotComputeWithAreNamedButNotMapped) {
  const std::pair<std::uint32_t, std::string_view> others[] = {
      {16, "IQ2_XXS"}, {17, "IQ2_XS"}, {18, "IQ3_XXS"}, {19, "IQ1_S"}, {21, "IQ3_S"},
      {22, "IQ2_S"},   {29, "IQ1_M"},  {34, "TQ1_0"},   {35, "TQ2_0"}, {39, "MXFP4"}};
  for (const auto& [id, name] : others) {
    EXPECT_FALSE(dtype_from_ggml_type(id).has_value()) << name;
    EXPECT_EQ(ggml_type_name(id), name);
  }
  for (std::uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u}) {
    EXPECT_FALSE(dtype_from_ggml_type(removed).has_value());
    EXPECT_NE(ggml_type_name(removed).find("removed"), std::string_view::npos);
  }
  EXPECT_TRUE(ggml_type_name(1000).empty());
  EXPECT_FALSE(dtype_from_ggml_type(1000).has_value());
  // Formats GGUF cannot store.
  for (DType d : {DType::kF8E4M3, DType::kU8, DType::kBool}) EXPECT_FALSE(ggml_type_of(d));
}

}  // namespace
}  // namespace whale

// One stored weight as exact float32, for the column tails of the SIMD paths. Plain bit
// operations and F16C only (see matmul_simd-inl.h on why no standard library here).
inline float bits_to_float(unsigned int u) {
  float f;
  __builtin_memcpy(&f, &u, 4);
  return f;
}

inline float scalar_weight(const WeightMatrix& w, long r, long c) {
  const long i = r * w.cols + c;
  switch (w.dtype) {
    case DType::kF32: return reinterpret_cast<const float*>(w.data)[i];
    case DType::kBF16:
      return bits_to_float(static_cast<unsigned int>(reinterpret_cast<const unsigned short*>(w.data)[i]) << 16);
    case DType::kF16: return _cvtsh_ss(reinterpret_cast<const unsigned short*>(w.data)[i]);
    case DType::kF8E4M3: {
      const unsigned int b = w.data[i];
      const unsigned int magnitude = b & 0x7f;
      const unsigned short h = magnitude == 0x7f ? 0x7e00
                                                 : static_cast<unsigned short>(((b & 0x80) << 8) | (magnitude << 7));
      const long scale_cols = (w.cols + w.block_cols - 1) / w.block_cols;
      return _cvtsh_ss(h) * 256.0f * w.block_scales[(r / w.block_rows) * scale_cols + c / w.block_cols];
    }
    default: return 0.0f;
  }
}

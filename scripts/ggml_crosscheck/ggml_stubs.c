// The few ggml symbols ggml-quants.c links against, for the cross-check only.
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
void ggml_abort(const char* f, int l, const char* fmt, ...) { fprintf(stderr, "abort %s:%d\n", f, l); abort(); }
#include <stdint.h>
#include <string.h>
float ggml_table_f32_f16[1 << 16];
size_t ggml_row_size(int type, int64_t ne) { (void)type; (void)ne; abort(); }
static float h2f(uint16_t h) { uint32_t s = (h & 0x8000u) << 16, e = (h >> 10) & 31, m = h & 1023; float f;
  if (e == 0) { f = ldexpf((float)m, -24); } else if (e == 31) { uint32_t b = s | 0x7f800000u | (m << 13); memcpy(&f, &b, 4); return f; }
  else f = ldexpf((float)(m | 1024), (int)e - 25); return s ? -f : f; }
__attribute__((constructor)) static void init_table(void) { for (int i = 0; i < 65536; ++i) ggml_table_f32_f16[i] = h2f((uint16_t)i); }
size_t ggml_type_size(int type) { (void)type; abort(); }
const char* ggml_type_name(int type) { (void)type; abort(); }

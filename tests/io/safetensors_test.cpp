#include <gtest/gtest.h>
TEST(safetensorstestPlaceholder, Builds) { EXPECT_TRUE(true); }

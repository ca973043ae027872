#include <gtest/gtest.h>
TEST(scalarformatstestPlaceholder, Builds) { EXPECT_TRUE(true); }

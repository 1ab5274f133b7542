#include "postprocess/class_names.h"

#include <gtest/gtest.h>

namespace detstream::postprocess {
namespace {

TEST(ClassNames, ParsesUltralyticsDict) {
  const auto names = parse_class_names("{0: 'person', 1: 'bicycle', 9: 'traffic light'}");
  ASSERT_TRUE(names);
  EXPECT_EQ(names->size(), 3u);
  EXPECT_EQ(names->at(0), "person");
  EXPECT_EQ(names->at(9), "traffic light");
}

TEST(ClassNames, HandlesApostrophesQuotesAndEscapes) {
  const auto names = parse_class_names(R"({0: "driver's seat", 1: 'it\'s', 2: 'say "hi"', 3: 'back\\slash', 4: "a, b: {c}"})");
  ASSERT_TRUE(names);
  EXPECT_EQ(names->at(0), "driver's seat");
  EXPECT_EQ(names->at(1), "it's");
  EXPECT_EQ(names->at(2), "say \"hi\"");
  EXPECT_EQ(names->at(3), "back\\slash");
  EXPECT_EQ(names->at(4), "a, b: {c}");
}

TEST(ClassNames, ParsesListsWhitespaceAndTrailingCommas) {
  const auto list = parse_class_names("  [ 'cat' ,'dog', ]  ");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->at(1), "dog");
  const auto dict = parse_class_names("{\n 0 : 'a',\n 1:'b',\n}");
  ASSERT_TRUE(dict);
  EXPECT_EQ(dict->at(1), "b");
  EXPECT_TRUE(parse_class_names("{}"));
}

TEST(ClassNames, RejectsMalformedText) {
  for (const char* bad : {"", "person", "{0: 'person'", "{0: person}", "{'a': 'b'}", "{0: 'x'} tail", "{-1: 'x'}",
                          "{0: 'unterminated}", "[1, 2]"}) {
    EXPECT_FALSE(parse_class_names(bad)) << bad;
  }
}

TEST(ClassNames, FromMetadataFallsBackPerMissingId) {
  const std::map<std::string, std::string> metadata{{"names", "{0: 'head', 2: 'vest'}"}};
  EXPECT_EQ(class_names_from_metadata(metadata, 4), (ClassNames{"head", "class1", "vest", "class3"}));
  EXPECT_EQ(metadata_class_count(metadata), 3);
}

TEST(ClassNames, FromMetadataWithoutOrWithBrokenNames) {
  EXPECT_EQ(class_names_from_metadata({}, 2), (ClassNames{"class0", "class1"}));
  EXPECT_EQ(class_names_from_metadata({{"names", "{0: oops}"}}, 1), (ClassNames{"class0"}));
  EXPECT_FALSE(metadata_class_count({}));
  EXPECT_FALSE(metadata_class_count({{"names", "garbage"}}));
}

}  // namespace
}  // namespace detstream::postprocess

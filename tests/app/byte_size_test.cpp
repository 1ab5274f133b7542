// parse_byte_size: the sizes --workspace accepts (bytes, K/M/G/T as powers of 1024, optional B or
// iB, any case) and the ones it refuses with a message that says what is accepted.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>

#include "app/model_loader.h"

namespace detstream::app {
namespace {

TEST(ByteSize, AcceptsBytesAndBinarySuffixes) {
  EXPECT_EQ(parse_byte_size("0"), 0u);
  EXPECT_EQ(parse_byte_size("1048576"), 1048576u);
  EXPECT_EQ(parse_byte_size("512k"), 512u << 10);
  EXPECT_EQ(parse_byte_size("64M"), std::size_t{64} << 20);
  EXPECT_EQ(parse_byte_size("64MiB"), std::size_t{64} << 20);
  EXPECT_EQ(parse_byte_size("64mb"), std::size_t{64} << 20);
  EXPECT_EQ(parse_byte_size("1G"), std::size_t{1} << 30);
  EXPECT_EQ(parse_byte_size("2T"), std::size_t{2} << 40);
  EXPECT_EQ(parse_byte_size("100B"), 100u);
  EXPECT_EQ(parse_byte_size(" 8 G "), std::size_t{8} << 30);
}

TEST(ByteSize, RefusesWhatIsNotASizeAndSaysWhatIs) {
  for (const char* bad : {"", "M", "-5", "1.5G", "12X", "64MM", "1P", "0x10", "99999999999999999999", "17179869184G"}) {
    try {
      (void)parse_byte_size(bad);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const std::invalid_argument& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find(std::string("'") + bad + "' is not a size"), std::string::npos) << message;
      EXPECT_NE(message.find("64M"), std::string::npos) << message;
    }
  }
}

}  // namespace
}  // namespace detstream::app

#include "support/test_dir.h"

#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace kiroku::testing {

TestDir::TestDir() {
  std::string tmpl = (std::filesystem::temp_directory_path() / "kiroku-test-XXXXXX").string();
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TestDir::~TestDir() {
  if (std::getenv("KIROKU_KEEP_TEST_DIRS") == nullptr) RemoveTree(path_);
}

void CopyTree(const std::string& from, const std::string& to) {
  std::filesystem::copy(
      from, to,
      std::filesystem::copy_options::recursive | std::filesystem::copy_options::overwrite_existing);
}

void RemoveTree(const std::string& path) {
  std::error_code ec;
  std::filesystem::remove_all(path, ec);
}

}  // namespace kiroku::testing

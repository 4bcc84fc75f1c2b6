// A fresh temporary directory per test, removed afterwards (kept if KIROKU_KEEP_TEST_DIRS
// is set, for post-mortems).
#pragma once

#include <string>

namespace kiroku::testing {

class TestDir {
 public:
  TestDir();
  ~TestDir();
  TestDir(const TestDir&) = delete;
  TestDir& operator=(const TestDir&) = delete;
  const std::string& path() const { return path_; }
  std::string Sub(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Copies a directory tree (for snapshots of a store's files).
void CopyTree(const std::string& from, const std::string& to);
void RemoveTree(const std::string& path);

}  // namespace kiroku::testing

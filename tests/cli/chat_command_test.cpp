// `whale chat` driven through a pseudo-terminal as a person would: a message, the streamed
// answer with its speed line, Ctrl-C stopping a long answer without leaving, commands, Ctrl-D.
// Uses the demo model (made on first use in a temporary models folder).
#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

// Named after the test process (not a forked child, which must reuse the folder).
const pid_t test_process = getpid();

fs::path models_path() {
  return fs::temp_directory_path() / ("whale_chat_test_" + std::to_string(test_process));
}

// One shared models folder for the whole test binary: the demo model is made once.
const std::string& models_folder() {
  static const std::string dir = [] {
    fs::create_directories(models_path());
    return models_path().string();
  }();
  return dir;
}

// The folder (and its 150 MB demo model) goes when the test binary ends.
class RemoveModelsFolder : public ::testing::Environment {
 public:
  void TearDown() override {
    std::error_code ignored;
    fs::remove_all(models_path(), ignored);
  }
};
[[maybe_unused]] ::testing::Environment* const remove_models_folder =
    ::testing::AddGlobalTestEnvironment(new RemoveModelsFolder);

class Pty {
 public:
  explicit Pty(const std::vector<std::string>& args) {
    const std::string models = models_folder();  // made here, once, not in each child
    pid_ = forkpty(&fd_, nullptr, nullptr, nullptr);
    if (pid_ == 0) {
      setenv("WHALE_MODELS", models.c_str(), 1);
      setenv("TERM", "xterm", 1);
      std::vector<char*> argv;
      std::string bin = WHALE_BINARY;
      argv.push_back(bin.data());
      std::vector<std::string> copy = args;
      for (auto& a : copy) argv.push_back(a.data());
      argv.push_back(nullptr);
      execv(bin.c_str(), argv.data());
      _exit(127);
    }
  }
  ~Pty() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (fd_ >= 0) close(fd_);
  }
  void send(const std::string& s) {
    ASSERT_EQ(write(fd_, s.data(), s.size()), static_cast<ssize_t>(s.size()));
  }
  // Reads until `needle` appears after `from` or the timeout passes; returns whether it did.
  bool wait_for(const std::string& needle, std::size_t from, int timeout_ms) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (output_.find(needle, from) == std::string::npos) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                            deadline - std::chrono::steady_clock::now())
                            .count();
      if (left <= 0) return false;
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, static_cast<int>(left)) <= 0) continue;
      char buf[4096];
      const ssize_t n = read(fd_, buf, sizeof buf);
      if (n <= 0) return output_.find(needle, from) != std::string::npos;
      output_.append(buf, static_cast<std::size_t>(n));
    }
    return true;
  }
  int wait_exit(int timeout_ms) {
    for (int waited = 0; waited < timeout_ms; waited += 20) {
      char buf[4096];
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 0) > 0) {
        const ssize_t n = read(fd_, buf, sizeof buf);
        if (n > 0) output_.append(buf, static_cast<std::size_t>(n));
      }
      int status = 0;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      }
      usleep(20000);
    }
    return -2;
  }
  const std::string& output() const { return output_; }

 private:
  int fd_ = -1;
  pid_t pid_ = -1;
  std::string output_;
};

constexpr int kStartMs = 240000;  // first run makes the demo model

TEST(ChatCommandTest, AnswersStopsOnCtrlCAndLeavesOnCtrlD) {
  Pty chat({"chat", "--seed", "1", "-n", "4000", "-t", "2"});
  ASSERT_TRUE(chat.wait_for("> ", 0, kStartMs)) << chat.output();
  EXPECT_NE(chat.output().find("random weights"), std::string::npos) << chat.output();
  EXPECT_NE(chat.output().find("whale pull"), std::string::npos);

  std::size_t mark = chat.output().size();
  chat.send("Hello there\n");
  // A long answer (4000 tokens allowed): let some text stream, then Ctrl-C.
  ASSERT_TRUE(chat.wait_for("\n", mark + 1, 60000)) << chat.output();
  usleep(300000);
  chat.send("\x03");
  ASSERT_TRUE(chat.wait_for("[stopped]", mark, 60000)) << chat.output().substr(mark);
  ASSERT_TRUE(chat.wait_for("tokens/s", mark, 10000));
  ASSERT_TRUE(chat.wait_for("> ", mark, 10000));

  mark = chat.output().size();
  chat.send("/stats\n");
  ASSERT_TRUE(chat.wait_for("answers", mark, 10000)) << chat.output().substr(mark);
  mark = chat.output().size();
  chat.send("/think on\n");
  ASSERT_TRUE(chat.wait_for("(", mark, 10000));
  mark = chat.output().size();
  chat.send("/bogus\n");
  ASSERT_TRUE(chat.wait_for("unknown command", mark, 10000));
  ASSERT_TRUE(chat.wait_for("> ", chat.output().find("unknown command", mark), 10000));

  // Ctrl-C at the prompt does not leave either.
  mark = chat.output().size();
  chat.send("\x03");
  ASSERT_TRUE(chat.wait_for("Ctrl-D", mark, 10000)) << chat.output().substr(mark);
  chat.send("\x04");
  EXPECT_EQ(chat.wait_exit(10000), 0) << chat.output();
}

TEST(ChatCommandTest, PipedInputPrintsOnlyTheAnswer) {
  const std::string cmd = "printf 'What is 2+2?' | WHALE_MODELS=" + models_folder() + " " +
                          WHALE_BINARY + " chat --seed 3 -n 12 --temperature 0 2>/dev/null";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  while (fgets(buf, sizeof buf, p) != nullptr) out += buf;
  ASSERT_EQ(pclose(p), 0) << out;
  EXPECT_EQ(out.find("whale chat"), std::string::npos) << out;  // no banner
  EXPECT_EQ(out.find("tokens/s"), std::string::npos) << out;    // no stats
  EXPECT_FALSE(out.empty());
}

}  // namespace

// run_process on POSIX: fork + execv, output through temporary files (no
// pipes, so a chatty child can never block on a full pipe).
#include "child_process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace syncbench_test {
namespace {

int temp_file() {
  char name[] = "/tmp/syncbench_test_XXXXXX";
  int fd = ::mkstemp(name);
  if (fd < 0) throw std::runtime_error("mkstemp failed");
  ::unlink(name);
  return fd;
}

std::string read_all(int fd) {
  std::string s;
  ::lseek(fd, 0, SEEK_SET);
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return s;
}

}  // namespace

RunningProcess::RunningProcess(const std::vector<std::string>& argv) : out_(temp_file()), err_(temp_file()) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int in = ::open("/dev/null", O_RDONLY);
    ::dup2(in, 0);
    ::dup2(out_, 1);
    ::dup2(err_, 2);
    ::execv(args[0], args.data());
    std::fprintf(stderr, "execv %s failed\n", args[0]);
    ::_exit(127);
  }
}

RunningProcess::~RunningProcess() {
  if (!reaped_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    ::close(out_);
    ::close(err_);
  }
}

std::string RunningProcess::out_so_far() const {
  std::string s;
  char buf[65536];
  off_t at = 0;
  for (;;) {
    ssize_t n = ::pread(out_, buf, sizeof buf, at);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    s.append(buf, static_cast<std::size_t>(n));
    at += n;
  }
  return s;
}

void RunningProcess::send_signal(int sig) const {
  ::kill(pid_, sig);
}

ProcessResult RunningProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
  }
  reaped_ = true;
  ProcessResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.signal = WTERMSIG(status);
  r.out = read_all(out_);
  r.err = read_all(err_);
  return r;
}

ProcessResult run_process(const std::vector<std::string>& argv) {
  RunningProcess p(argv);
  return p.wait();
}

}  // namespace syncbench_test

// Windows capability probe: the OS version (RtlGetVersion, which unlike
// GetVersionEx is not shimmed to 6.2 for unmanifested programs), whether an
// I/O completion port can be created, WaitOnAddress, and whether ntdll
// exports the wait-completion-packet calls (NtCreateWaitCompletionPacket /
// NtAssociateWaitCompletionPacket, Windows 8+, absent from Wine 8).
//
// Functions that may be missing are looked up with GetProcAddress, so the
// probe itself runs everywhere the library loads. Nothing here has side
// effects beyond a scratch completion port that is closed again.
//
// `event_wait_path` names how a kernel-object wait (ObjectWait in
// iocp_backend.hpp) reaches the loop's port in this build: a thread-pool
// worker waits for the object and posts the packet ("threadpool-wait"). The
// kernel's wait-completion packets would queue it without the pool thread;
// the probe reports whether they exist so that the difference is visible.
#include <string>

#include "sync/capabilities.hpp"
#include "windows/windows.hpp"

namespace libsync {
namespace {

template <class Fn>
Fn lookup(const wchar_t* module, const char* name) noexcept {
  HMODULE m = GetModuleHandleW(module);
  if (!m) return nullptr;
  return reinterpret_cast<Fn>(reinterpret_cast<void*>(GetProcAddress(m, name)));
}

void probe_kernel(KernelInfo& k) {
  k.os = "Windows";
  using RtlGetVersionFn = LONG(WINAPI*)(OSVERSIONINFOW*);
  if (auto get_version = lookup<RtlGetVersionFn>(L"ntdll.dll", "RtlGetVersion")) {
    OSVERSIONINFOW v{};
    v.dwOSVersionInfoSize = sizeof v;
    if (get_version(&v) == 0) {
      k.major = static_cast<int>(v.dwMajorVersion);
      k.minor = static_cast<int>(v.dwMinorVersion);
      k.patch = static_cast<int>(v.dwBuildNumber);
      k.release = std::to_string(k.major) + "." + std::to_string(k.minor) + "." + std::to_string(k.patch);
    }
  }
  SYSTEM_INFO si{};
  GetNativeSystemInfo(&si);
  switch (si.wProcessorArchitecture) {
    case PROCESSOR_ARCHITECTURE_AMD64:
      k.architecture = "x86_64";
      break;
    case PROCESSOR_ARCHITECTURE_ARM64:
      k.architecture = "aarch64";
      break;
    case PROCESSOR_ARCHITECTURE_INTEL:
      k.architecture = "x86";
      break;
    case PROCESSOR_ARCHITECTURE_ARM:
      k.architecture = "arm";
      break;
    default:
      k.architecture = "unknown";
      break;
  }
}

void probe_windows(WindowsInfo& w) {
  if (HANDLE port = CreateIoCompletionPort(INVALID_HANDLE_VALUE, nullptr, 0, 1)) {
    w.iocp = true;
    CloseHandle(port);
  }
  // Imported by the library (synchronization.lib) and so present whenever it
  // loaded; looked up anyway so the report rests on what the system exports.
  w.wait_on_address = lookup<FARPROC>(L"kernelbase.dll", "WaitOnAddress") != nullptr ||
                      lookup<FARPROC>(L"api-ms-win-core-synch-l1-2-0.dll", "WaitOnAddress") != nullptr;
  w.wait_completion_packet = lookup<FARPROC>(L"ntdll.dll", "NtCreateWaitCompletionPacket") != nullptr &&
                             lookup<FARPROC>(L"ntdll.dll", "NtAssociateWaitCompletionPacket") != nullptr;
  w.event_wait_path = "threadpool-wait";
  if (auto wine = lookup<const char* (*)()>(L"ntdll.dll", "wine_get_version")) w.wine_version = wine();
}

}  // namespace

Capabilities probe_capabilities() {
  Capabilities caps;
  probe_kernel(caps.kernel);
  probe_windows(caps.windows);
  caps.io_uring.setup_error = "io_uring exists only on Linux";
  caps.io_uring.seccomp = "unknown";
  caps.futex.private_hash_state = "no private futex hash outside Linux";
  caps.epoll = false;
  return caps;
}

const Capabilities& capabilities() {
  static const Capabilities caps = probe_capabilities();
  return caps;
}

}  // namespace libsync

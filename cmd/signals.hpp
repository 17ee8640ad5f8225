// Signal handling of the long-running commands (serve, clone, pull, push): SIGINT, SIGTERM and SIGUSR1 are blocked
// so that the command's loop polls for them (through the library's `interrupted` / `should_stop` callbacks) and
// shuts down in order instead of dying mid-write. The library itself never touches signal masks.
#pragma once

#include <signal.h>

namespace dvt::cmd {

class SignalBlock {
public:
    // Blocks SIGINT, SIGTERM and SIGUSR1 in this thread and in every thread it starts afterwards (libtorrent's): the
    // signals stay pending until take() / take_usr1() consume them. The destructor restores the old mask.
    SignalBlock();
    ~SignalBlock();
    SignalBlock(const SignalBlock&) = delete;
    SignalBlock& operator=(const SignalBlock&) = delete;

    // The pending SIGINT/SIGTERM (consumed), or 0.
    int take();
    // Whether a SIGUSR1 was pending (consumed).
    bool take_usr1();
    // Die by `sig` as if it had not been blocked (exit status 128+sig for the shell).
    [[noreturn]] void die(int sig);

private:
    sigset_t m_set, m_usr1, m_old;
};

}  // namespace dvt::cmd

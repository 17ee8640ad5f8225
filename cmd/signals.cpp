#include "cmd/signals.hpp"

#include <pthread.h>

#include <cstdlib>
#include <ctime>
#include <iostream>

namespace dvt::cmd {

SignalBlock::SignalBlock() {
    sigemptyset(&m_set);
    sigaddset(&m_set, SIGINT);
    sigaddset(&m_set, SIGTERM);
    sigemptyset(&m_usr1);
    sigaddset(&m_usr1, SIGUSR1);
    sigset_t all = m_set;
    sigaddset(&all, SIGUSR1);
    pthread_sigmask(SIG_BLOCK, &all, &m_old);
}

SignalBlock::~SignalBlock() { pthread_sigmask(SIG_SETMASK, &m_old, nullptr); }

int SignalBlock::take() {
    timespec zero{0, 0};
    int s = sigtimedwait(&m_set, nullptr, &zero);
    return s > 0 ? s : 0;
}

bool SignalBlock::take_usr1() {
    timespec zero{0, 0};
    return sigtimedwait(&m_usr1, nullptr, &zero) > 0;
}

void SignalBlock::die(int sig) {
    std::cerr.flush();
    ::signal(sig, SIG_DFL);
    pthread_sigmask(SIG_SETMASK, &m_old, nullptr);
    sigset_t only;
    sigemptyset(&only);
    sigaddset(&only, sig);
    pthread_sigmask(SIG_UNBLOCK, &only, nullptr);
    ::raise(sig);
    std::_Exit(128 + sig);
}

}  // namespace dvt::cmd

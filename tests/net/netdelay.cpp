// dvt_netdelay: a TUN device that hands every packet back to the kernel after a fixed delay, dropping a chosen share.
//
// The network testbed (tests/net/netbed.sh) has no netem qdisc on this kernel, so a NAT router namespace routes the
// traffic between its LAN and WAN interfaces through this device instead (policy routing by input interface: a packet
// from the LAN or the WAN goes to the TUN device, and the packet this program writes back comes in from the TUN device
// and takes the main table). Each packet passes once per direction, so a delay of D ms adds 2·D ms to a round trip
// through the router and a loss of p drops a share p of the packets in each direction.
//
//   dvt_netdelay --dev NAME --delay-ms D [--loss P] [--seed N] [--queue-packets Q]
//
// Runs until SIGTERM or SIGINT, then prints one line of counters to stderr ("netdelay NAME: in N, dropped N, out N,
// overflow N"). The delay is constant, so packets leave in the order they came (a FIFO). At most Q packets (default
// 20,000, ~30 MB) wait at once; more are dropped and counted as overflow (a real link's buffer would do the same).
// Test tooling only: not part of dvt.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

namespace {

volatile sig_atomic_t g_stop = 0;
void on_signal(int) { g_stop = 1; }

using Clock = std::chrono::steady_clock;

struct Packet {
    Clock::time_point due;
    std::vector<std::uint8_t> bytes;
};

// xorshift64*: reproducible loss for a given seed.
struct Rng {
    std::uint64_t s;
    double next() {
        s ^= s >> 12;
        s ^= s << 25;
        s ^= s >> 27;
        return static_cast<double>((s * 2685821657736338717ULL) >> 11) / 9007199254740992.0;
    }
};

[[noreturn]] void usage(const char* msg) {
    std::fprintf(stderr, "dvt_netdelay: %s\nusage: dvt_netdelay --dev NAME --delay-ms D [--loss P] [--seed N] "
                         "[--queue-packets Q]\n", msg);
    std::exit(2);
}

}  // namespace

int main(int argc, char** argv) {
    std::string dev;
    double delay_ms = -1, loss = 0;
    std::uint64_t seed = 1;
    std::size_t max_queue = 20000;
    for (int i = 1; i < argc; ++i) {
        std::string a = argv[i];
        if (i + 1 >= argc) usage(("missing value after " + a).c_str());
        const char* v = argv[++i];
        if (a == "--dev") dev = v;
        else if (a == "--delay-ms") delay_ms = std::strtod(v, nullptr);
        else if (a == "--loss") loss = std::strtod(v, nullptr);
        else if (a == "--seed") seed = std::strtoull(v, nullptr, 10);
        else if (a == "--queue-packets") max_queue = std::strtoull(v, nullptr, 10);
        else usage(("unknown option " + a).c_str());
    }
    if (dev.empty() || dev.size() >= IFNAMSIZ) usage("--dev NAME is required (at most 15 characters)");
    if (delay_ms < 0 || delay_ms > 10000) usage("--delay-ms must be between 0 and 10000");
    if (loss < 0 || loss >= 1) usage("--loss must be in [0, 1)");
    if (max_queue == 0) usage("--queue-packets must be positive");

    int fd = ::open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) { std::perror("dvt_netdelay: /dev/net/tun"); return 1; }
    struct ifreq ifr;
    std::memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
    std::memcpy(ifr.ifr_name, dev.data(), dev.size());
    if (::ioctl(fd, TUNSETIFF, &ifr) < 0) { std::perror("dvt_netdelay: TUNSETIFF"); return 1; }

    struct sigaction sa;
    std::memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    ::sigaction(SIGTERM, &sa, nullptr);
    ::sigaction(SIGINT, &sa, nullptr);

    const auto delay = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double, std::milli>(delay_ms));
    Rng rng{seed * 0x9E3779B97F4A7C15ULL + 1};
    std::deque<Packet> queue;
    std::vector<std::vector<std::uint8_t>> spare;  // buffers of sent packets, reused
    std::uint64_t n_in = 0, n_drop = 0, n_out = 0, n_overflow = 0;
    std::vector<std::uint8_t> buf(65536);

    while (!g_stop) {
        // Sleep until a packet arrives or the oldest queued one is due.
        int timeout_ms = -1;
        if (!queue.empty()) {
            auto wait = queue.front().due - Clock::now();
            timeout_ms = wait <= Clock::duration::zero()
                             ? 0
                             : static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(wait).count());
        }
        struct pollfd p{fd, POLLIN, 0};
        int r = ::poll(&p, 1, timeout_ms);
        if (r < 0 && errno != EINTR) { std::perror("dvt_netdelay: poll"); return 1; }
        if (r > 0 && (p.revents & POLLIN)) {
            for (int k = 0; k < 256; ++k) {  // drain what is there, bounded so due packets are not starved
                ssize_t n = ::read(fd, buf.data(), buf.size());
                if (n <= 0) break;
                ++n_in;
                if (loss > 0 && rng.next() < loss) { ++n_drop; continue; }
                if (queue.size() >= max_queue) { ++n_overflow; continue; }
                std::vector<std::uint8_t> b;
                if (!spare.empty()) { b = std::move(spare.back()); spare.pop_back(); }
                b.assign(buf.begin(), buf.begin() + n);
                queue.push_back(Packet{Clock::now() + delay, std::move(b)});
            }
        }
        auto now = Clock::now();
        while (!queue.empty() && queue.front().due <= now) {
            Packet& pk = queue.front();
            ssize_t w = ::write(fd, pk.bytes.data(), pk.bytes.size());
            if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) break;  // retry on the next turn
            if (w >= 0) ++n_out;
            if (spare.size() < 256) spare.push_back(std::move(pk.bytes));
            queue.pop_front();
        }
    }
    std::fprintf(stderr, "netdelay %s: in %llu, dropped %llu, out %llu, overflow %llu\n", dev.c_str(),
                 static_cast<unsigned long long>(n_in), static_cast<unsigned long long>(n_drop),
                 static_cast<unsigned long long>(n_out), static_cast<unsigned long long>(n_overflow));
    return 0;
}

// uTP against TCP between two libtorrent sessions on loopback: one v2 torrent of SIZE MiB of random bytes, seeded by
// one session and downloaded by the other, with uTP only or TCP only and any settings_pack values given as
// name=value. Used to find why uTP ran 4-7 MB/s on loopback in libtorrent 2.0.8 (docs/transport.md, Reachability:
// the default UDP receive buffer overflowed; recv_socket_buffer_size=1048576 removes the drops).
//   build: g++ -O2 -std=c++20 bench/utp_probe.cpp $(pkg-config --cflags --libs libtorrent-rasterbar) -o /tmp/utp_probe
//   run (private namespace, nothing leaves it):
//     unshare --net sh -c 'ip link set lo up; /tmp/utp_probe utp 64; /tmp/utp_probe utp 64 recv_socket_buffer_size=1048576;
//                          /tmp/utp_probe tcp 64; grep -A1 ^Udp: /proc/net/snmp'
#include <libtorrent/session.hpp>
#include <libtorrent/session_params.hpp>
#include <libtorrent/settings_pack.hpp>
#include <libtorrent/create_torrent.hpp>
#include <libtorrent/torrent_info.hpp>
#include <libtorrent/alert_types.hpp>
#include <libtorrent/torrent_status.hpp>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <random>
#include <string>
#include <vector>
#include <thread>
#include <filesystem>
namespace fs = std::filesystem;
static lt::settings_pack base(const std::string& ip, bool utp, const std::vector<std::string>& extra) {
    lt::settings_pack p;
    p.set_str(lt::settings_pack::listen_interfaces, ip + ":0");
    p.set_str(lt::settings_pack::outgoing_interfaces, ip);
    p.set_str(lt::settings_pack::dht_bootstrap_nodes, "");
    for (auto k : {lt::settings_pack::enable_dht, lt::settings_pack::enable_lsd, lt::settings_pack::enable_upnp,
                   lt::settings_pack::enable_natpmp, lt::settings_pack::enable_ip_notifier})
        p.set_bool(k, false);
    p.set_bool(lt::settings_pack::enable_outgoing_utp, utp);
    p.set_bool(lt::settings_pack::enable_incoming_utp, utp);
    p.set_bool(lt::settings_pack::enable_outgoing_tcp, !utp);
    p.set_bool(lt::settings_pack::enable_incoming_tcp, !utp);
    p.set_int(lt::settings_pack::alert_mask, lt::alert_category::status | lt::alert_category::error);
    for (auto& e : extra) {
        auto eq = e.find('=');
        auto name = e.substr(0, eq), val = e.substr(eq + 1);
        int n = lt::setting_by_name(name);
        if (n < 0) { std::cerr << "unknown setting " << name << "\n"; std::exit(2); }
        if ((n & lt::settings_pack::type_mask) == lt::settings_pack::bool_type_base) p.set_bool(n, val == "1" || val == "true");
        else if ((n & lt::settings_pack::type_mask) == lt::settings_pack::int_type_base) p.set_int(n, std::stoi(val));
        else p.set_str(n, val);
    }
    return p;
}
int main(int argc, char** argv) {
    bool utp = std::string(argv[1]) == "utp";
    std::size_t mib = std::stoul(argv[2]);
    std::vector<std::string> extra(argv + 3, argv + argc);
    fs::path dir = fs::temp_directory_path() / ("utpx" + std::to_string(getpid()));
    fs::create_directories(dir / "a"); fs::create_directories(dir / "b");
    {
        std::ofstream f(dir / "a" / "data", std::ios::binary);
        std::mt19937_64 r(1);
        std::vector<std::uint64_t> buf(1 << 17);
        for (std::size_t i = 0; i < mib; ++i) {
            for (auto& x : buf) x = r();
            f.write(reinterpret_cast<const char*>(buf.data()), 1 << 20);
        }
    }
    lt::file_storage fst; lt::add_files(fst, (dir / "a" / "data").string());
    lt::create_torrent ct(fst, 0, lt::create_torrent::v2_only);
    lt::set_piece_hashes(ct, (dir / "a").string());
    std::vector<char> tbuf; lt::bencode(std::back_inserter(tbuf), ct.generate());
    auto ti = std::make_shared<lt::torrent_info>(tbuf, lt::from_span);
    lt::session A(lt::session_params(base("127.0.0.2", utp, extra)));
    lt::session B(lt::session_params(base("127.0.0.3", utp, extra)));
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    lt::add_torrent_params pa; pa.ti = ti; pa.save_path = (dir / "a").string();
    pa.flags &= ~lt::torrent_flags::auto_managed; pa.flags &= ~lt::torrent_flags::paused;
    pa.have_pieces.resize(ti->num_pieces(), true);
    auto ha = A.add_torrent(pa);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    int port = A.listen_port();
    lt::add_torrent_params pb; pb.ti = ti; pb.save_path = (dir / "b").string();
    pb.flags &= ~lt::torrent_flags::auto_managed; pb.flags &= ~lt::torrent_flags::paused;
    pb.peers.push_back(lt::tcp::endpoint(lt::make_address("127.0.0.2"), (unsigned short)port));
    auto t0 = std::chrono::steady_clock::now();
    auto hb = B.add_torrent(pb);
    double limit = 120;
    while (true) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        auto st = hb.status();
        double el = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        if (st.is_seeding || el > limit) {
            std::vector<lt::peer_info> pi; hb.get_peer_info(pi);
            printf("%s %zu MiB: %.2f s, %.1f MB/s, done %lld, peers %zu utp %d\n", utp ? "uTP" : "TCP", mib, el,
                   st.total_wanted_done / el / 1e6, (long long)st.total_wanted_done, pi.size(),
                   pi.empty() ? -1 : int(bool(pi[0].flags & lt::peer_info::utp_socket)));
            break;
        }
    }
    fs::remove_all(dir);
}

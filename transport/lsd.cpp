#include "transport/lsd.hpp"

#include <libtorrent/session.hpp>

#include "util/error.hpp"

namespace dvt::transport {

bool lsd_option(const core::Config* config, bool cli_lsd) {
    if (cli_lsd) return true;
    if (!config) return false;
    auto v = config->get_or("lsd.enabled", "false");
    if (v == "true") return true;
    if (v == "false") return false;
    throw Error(ErrorKind::usage, "config lsd.enabled must be true or false, not '" + v + "'");
}

void enable_lsd(SwarmSession& s) {
    lt::settings_pack p;
    p.set_bool(lt::settings_pack::enable_lsd, true);
    p.set_int(lt::settings_pack::local_service_announce_interval, static_cast<int>(kLsdAnnounceInterval.count()));
    s.native().apply_settings(std::move(p));
}

lt::address lsd_local_address() {
    try {
        return local_address_towards(Endpoint(lt::make_address("239.192.152.143"), 6771));
    } catch (const Error&) {
        throw Error(ErrorKind::network,
                    "no network interface routes LAN discovery multicast (239.192.152.143): give --listen IP");
    }
}

}  // namespace dvt::transport

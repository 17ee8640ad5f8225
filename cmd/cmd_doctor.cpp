// dvt doctor [--peer IP:PORT]... [--listen IP[:PORT]] [--commit REV] [--port-map] [--timeout S] [--json]
// (transport::doctor; docs/transport.md "Diagnosing connectivity"): what this machine looks like to peers.
#include <iostream>

#include "cmd/cli.hpp"
#include "cmd/swarm_args.hpp"
#include "core/revision.hpp"
#include "transport/doctor.hpp"
#include "transport/pull.hpp"
#include "util/error.hpp"

namespace dvt::cmd {

void register_doctor(CLI::App& app, Context& ctx) {
    struct Args {
        std::vector<std::string> peers;
        std::string listen, commit;
        bool port_mapping = false;
        double timeout = 5;
    };
    auto a = std::make_shared<Args>();
    auto* sub = app.add_subcommand("doctor", "Check how peers see this machine: listen address, NAT, port mapping, peers");
    add_peer_option(sub, a->peers, "Probe this peer IP:PORT (repeatable): the address it sees us as, its client");
    sub->add_option("--listen", a->listen, "Local IP[:PORT] to listen on and probe from (default: the address routing to "
                                           "the first peer)");
    sub->add_option("--commit", a->commit,
                    "A commit the peers serve (id, or a revision of this repository; default HEAD here, if any): "
                    "a peer closes connections for torrents it does not have");
    sub->add_flag("--port-map", a->port_mapping,
                  "Ask the router for a port forwarding (UPnP and NAT-PMP) and report its answer (off by default)");
    sub->add_option("--timeout", a->timeout, "Seconds to wait for each peer and for the router (default 5)");
    sub->callback([a, &ctx] {
        transport::DoctorOptions o;
        o.peers = peer_endpoints(a->peers);
        if (!a->listen.empty()) o.listen = transport::parse_listen_address(a->listen);
        o.port_mapping = a->port_mapping;
        o.timeout = checked_seconds(a->timeout, "--timeout", 0.001, 600);
        if (a->commit.size() == 64) {
            o.info_hash = transport::parse_commit_id(a->commit);
        } else if (!a->commit.empty()) {
            auto repo = ctx.open_repo();
            o.info_hash = core::resolve_commit(*repo, a->commit);
        } else if (!o.peers.empty()) {
            try {  // HEAD of the repository here, if there is one with a commit
                auto repo = ctx.open_repo();
                o.info_hash = repo->refs().head().commit;
            } catch (const Error&) {
            }
        }
        auto r = transport::doctor(o);
        auto addr = [](const std::optional<transport::Address>& x) {
            return x ? nlohmann::json(x->to_string()) : nlohmann::json(nullptr);
        };
        if (ctx.json) {
            nlohmann::json peers = nlohmann::json::array();
            for (const auto& p : r.peers)
                peers.push_back({{"peer", transport::endpoint_string(p.peer)},
                                 {"connected", p.connected},
                                 {"connect_ms", p.connect_ms},
                                 {"handshake", p.wire.handshake},
                                 {"serves_commit", p.wire.handshake && p.wire.same_torrent},
                                 {"complete", p.wire.has_all},
                                 {"client", p.wire.ext_handshake ? nlohmann::json(p.wire.client) : nlohmann::json(nullptr)},
                                 {"listen_port", p.wire.port ? nlohmann::json(*p.wire.port) : nlohmann::json(nullptr)},
                                 {"seen_as", addr(p.wire.yourip)},
                                 {"nat", p.nat},
                                 {"reached_us", p.reached_us ? nlohmann::json(*p.reached_us) : nlohmann::json(nullptr)},
                                 {"reached_via", p.reached_via.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.reached_via)},
                                 {"error", p.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.error)}});
            nlohmann::json maps = nlohmann::json::array();
            for (const auto& m : r.mappings)
                maps.push_back({{"protocol", m.protocol},
                                {"transport", m.transport},
                                {"external_port", m.external_port},
                                {"error", m.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(m.error)}});
            nlohmann::json locals = nlohmann::json::array();
            for (const auto& l : r.local_addresses) locals.push_back(l.to_string());
            ctx.print_json({{"listen", r.listen ? nlohmann::json(transport::endpoint_string(*r.listen)) : nlohmann::json(nullptr)},
                            {"listen_error", r.listen_error.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.listen_error)},
                            {"listen_scope", r.listen_scope},
                            {"local_addresses", locals},
                            {"transport", "tcp"},
                            {"port_mapping", r.port_mapping},
                            {"mappings", maps},
                            {"nat", r.nat},
                            {"external_address", addr(r.external)},
                            {"commit", o.info_hash ? nlohmann::json(o.info_hash->hex()) : nlohmann::json(nullptr)},
                            {"peers", peers}});
            return;
        }
        auto& out = *ctx.out;
        if (r.listen)
            out << "listen: " << transport::endpoint_string(*r.listen) << " (TCP, " << r.listen_scope << " address)\n";
        else
            out << "listen: failed: " << r.listen_error << "\n";
        out << "local addresses:";
        if (r.local_addresses.empty()) out << " none but loopback";
        for (const auto& l : r.local_addresses) out << " " << l.to_string() << " (" << transport::address_scope(l) << ")";
        out << "\n";
        out << "port mapping (UPnP, NAT-PMP): " << r.port_mapping;
        for (const auto& m : r.mappings)
            out << "; " << m.protocol << (m.transport.empty() ? "" : " " + m.transport) << ": "
                << (m.error.empty() ? "external port " + std::to_string(m.external_port) : m.error);
        out << "\n";
        for (const auto& p : r.peers) {
            out << "peer " << transport::endpoint_string(p.peer) << ": ";
            if (!p.connected) {
                out << p.error << "\n";
                continue;
            }
            char ms[32];
            std::snprintf(ms, sizeof ms, "%.1f ms", p.connect_ms);
            out << "connected in " << ms;
            if (p.wire.handshake && p.wire.same_torrent)
                out << ", serves the commit" << (p.wire.has_all ? " (complete)" : "");
            if (p.wire.ext_handshake && !p.wire.client.empty()) out << ", client '" << p.wire.client << "'";
            if (p.wire.yourip) out << ", sees us as " << p.wire.yourip->to_string();
            if (p.reached_us && *p.reached_us)
                out << ", connected back to our listen port (" << (p.reached_via == "utp" ? "uTP" : "TCP") << ")";
            else if (p.reached_us && r.listen)
                out << ", did not connect back to port " << r.listen->port() << " within 5 s (blocked, or it did not try)";
            if (!p.error.empty()) out << "; " << p.error;
            out << "\n";
        }
        out << "NAT: " << r.nat;
        if (r.nat == "nat")
            out << " (a peer sees this machine as " << r.external->to_string()
                << ": peers can connect to it only through a port forwarding"
                << (r.port_mapping == "mapped" ? ", which the router made" : "") << ")";
        else if (r.nat == "none")
            out << " (the peers see this machine's own address: they can connect to the listen port unless a firewall "
                   "blocks it)";
        else
            out << " (no peer reported the address it sees us as" << (r.peers.empty() ? ": give one with --peer" : "") << ")";
        out << "\n";
    });
}

}  // namespace dvt::cmd

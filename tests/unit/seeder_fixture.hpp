// A seeder serving a repository in the test's process, as `dvt serve` would: the repository opened on its own, a
// SwarmSession listening on `ip` (a loopback address, any port), rescanned once, run on its own thread until the
// fixture is destroyed.
#pragma once

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>

#include "core/repository.hpp"
#include "transport/endpoint.hpp"
#include "transport/pull.hpp"
#include "transport/seeder.hpp"
#include "transport/session.hpp"

namespace dvt::test {

struct RunningSeeder {
    std::unique_ptr<core::Repository> repo;
    transport::SwarmSession session;
    transport::Seeder seeder;
    std::atomic<bool> stop{false};
    std::thread thread;
    RunningSeeder(const std::filesystem::path& root, const std::string& ip)
        : repo(core::Repository::open(root)),
          session(transport::parse_endpoint(ip + ":0", "listen", true)),
          seeder(session, *repo) {
        seeder.rescan();
        thread = std::thread([this] { seeder.run([this] { return stop.load(); }, std::chrono::milliseconds(200)); });
    }
    // Options of a pull from this seeder alone, listening on 127.0.0.3 (any port), with `timeout`.
    transport::PullOptions pull_options(std::chrono::seconds timeout) const {
        transport::PullOptions o;
        o.peers = {session.listen_endpoint()};
        o.listen = transport::parse_endpoint("127.0.0.3:0", "listen", true);
        o.timeout = timeout;
        return o;
    }
    ~RunningSeeder() {
        stop = true;
        thread.join();
    }
    RunningSeeder(const RunningSeeder&) = delete;
    RunningSeeder& operator=(const RunningSeeder&) = delete;
};

}  // namespace dvt::test

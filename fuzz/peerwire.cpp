// Fuzz target: the peer-wire bytes `dvt doctor` reads from a probed peer (transport/doctor.hpp, scan_peer_wire): a
// BitTorrent handshake, then length-prefixed messages, among them the extension handshake (BEP 10, bdecoded).
//
// Input: info_hash[20] | the bytes the peer sent.
// Properties: no crash or unbounded allocation; scanning a prefix never concludes more than the whole (a handshake
// or extension handshake seen in a prefix is seen in the whole); `complete` and `malformed` never both; the client
// name is printable ASCII of at most 64 characters; a yourip is reported only with an extension handshake.
#include <cstring>

#include "fuzz/fuzz.hpp"
#include "transport/doctor.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace dvt;
    if (size < 20) return 0;
    std::array<std::uint8_t, 20> ih{};
    std::memcpy(ih.data(), data, 20);
    std::span<const std::uint8_t> wire(data + 20, size - 20);
    auto s = transport::scan_peer_wire(wire, std::span<const std::uint8_t, 20>(ih));
    if (s.ext_handshake && !s.malformed) fuzz::note_accepted();
    fuzz::require(!(s.complete && s.malformed), "peerwire: complete and malformed at once");
    fuzz::require(s.client.size() <= 64, "peerwire: client name over 64 characters");
    for (char c : s.client) fuzz::require(c >= 0x20 && c < 0x7f, "peerwire: client name not printable ASCII");
    fuzz::require(!s.yourip || s.ext_handshake, "peerwire: yourip without an extension handshake");
    fuzz::require(!s.handshake || wire.size() >= 68, "peerwire: a handshake in fewer than 68 bytes");
    auto half = transport::scan_peer_wire(wire.first(wire.size() / 2), std::span<const std::uint8_t, 20>(ih));
    if (!half.malformed) {
        fuzz::require(!half.handshake || s.handshake, "peerwire: a prefix saw a handshake the whole did not");
        fuzz::require(!half.ext_handshake || s.ext_handshake || s.malformed,
                      "peerwire: a prefix saw an extension handshake the whole did not");
    }
    return 0;
}

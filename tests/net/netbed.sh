# shellcheck shell=bash
# The network testbed (issue #19): network namespaces a test makes itself, with NAT routers, bandwidth caps, delay and
# loss. Source it after tests/e2e/lib.sh (which provides bg, fail and $T):
#
#   NETNS=1; source "$DVT_TEST_LIB"; source "$(dirname "$DVT_TEST_LIB")/../net/netbed.sh"
#   nb_require                        # SKIP (exit 0) only when the kernel has no network namespaces
#   nb_public                         # the public segment: a bridge in namespace "pub", 11.0.0.0/24
#   nb_host seed 11.0.0.10 --up 5M    # a host on the public segment (own namespace, uplink capped at 5 MB/s)
#   nb_home a 1 --upnp --up 5M --delay-ms 25 --loss 0.01
#                                     # a home LAN 192.168.1.0/24: host "a" (192.168.1.2) behind router "a-gw"
#                                     # (WAN 11.0.0.101, MASQUERADE; --upnp: miniupnpd with UPnP and NAT-PMP on the
#                                     # LAN side only), uplink/downlink caps (HTB on the router), delay and loss
#   nb a "$DVT" -C repo pull ...      # run a command in a namespace; nb_bg runs it in the background (lib.sh's bg)
#
# Every namespace is held by a `sleep` process started with lib.sh's bg, so lib.sh's exit trap kills it by PID on
# success and on failure; a namespace disappears with the last process in it (the veth pairs, bridge, TUN devices,
# qdiscs and iptables/nft rules inside it go with it). No namespace has a route out of the testbed, and every address
# is one of the testbed's own: 11.0.0.0/24 is the "public" segment (not an RFC 1918 range, since miniupnpd refuses to
# map ports on a router whose WAN address is private; no packet can reach the real 11.0.0.0/8, as nothing routes out),
# 192.168.N.0/24 the home LANs. Multicast (SSDP, LSD) stays on the segment it is sent on: routers do not forward it.
#
# Rates: "5M" = 5,000,000 bytes/s (k/M/G decimal). Caps are HTB classes on the router's WAN interface (uplink) and LAN
# interface (downlink), or on both ends of a public host's link; each HTB class holds a short FIFO (bfifo of ~100 ms
# at the rate, at least 64 KiB), a modest home-router buffer.
#
# Delay and loss: this kernel has no netem qdisc, so the router forwards through a TUN device served by
# build/tests/dvt_netdelay (tests/net/netdelay.cpp): policy routing sends every packet that enters from the LAN or the
# WAN to the TUN device; the forwarder holds it --delay-ms and writes it back (dropping --loss of them), and the
# kernel then routes it by the main table. A packet crosses once per direction, so the round trip through the router
# grows by 2 x delay, and each direction loses the given share. Connection tracking starts on the packet that comes
# back from the TUN device (raw-table NOTRACK on the LAN side, and for de-NATed packets to the LAN), so MASQUERADE and
# the UPnP port maps see each connection once. tests/e2e/t210_netbed.sh measures what the forwarder adds (ping RTT,
# lost packets counted).
set -euo pipefail

NB_NETDELAY=${NB_NETDELAY:-$(dirname "$DVT")/tests/dvt_netdelay}
declare -A NB_PID=()

# nb_require: exit 0 with "SKIP: ..." when network namespaces cannot be made here; fail when a tool the testbed needs
# is missing (scripts/setup.sh installs them).
nb_require() {
    if ! unshare --net -- true 2>/dev/null; then
        echo "SKIP: $TEST_NAME needs network namespaces (unshare --net failed: no kernel support or no privilege)" >&2
        exit 0
    fi
    local tool
    for tool in ip tc iptables nsenter; do
        command -v "$tool" >/dev/null || fail "$tool is required by the network testbed (scripts/setup.sh installs it)"
    done
    [ -c /dev/net/tun ] || fail "/dev/net/tun is required by the network testbed"
}

# nb_node NAME: a new, empty network namespace (loopback up), held by a background sleep.
nb_node() {
    local name=$1 i self
    self=$(readlink /proc/self/ns/net)
    bg unshare --net -- sleep 1000000
    NB_PID[$name]=$BG_PID
    # unshare makes the namespace before it execs sleep: wait until the process is in its own namespace.
    for i in $(seq 1 200); do
        [ "$(readlink "/proc/$BG_PID/ns/net" 2>/dev/null)" != "$self" ] && break
        sleep 0.01
    done
    [ "$(readlink "/proc/$BG_PID/ns/net")" != "$self" ] || fail "namespace $name was not created"
    nb "$name" ip link set lo up
}

# nb NAME CMD...: CMD in NAME's network namespace (it execs CMD: the PID is CMD's).
nb() {
    local name=$1
    shift
    [ -n "${NB_PID[$name]:-}" ] || fail "netbed: no namespace '$name'"
    nsenter -t "${NB_PID[$name]}" -n -- "$@"
}

# nb_bg NAME CMD...: CMD in NAME's namespace, in the background (BG_PID; killed by PID when the test ends).
nb_bg() {
    local name=$1
    shift
    [ -n "${NB_PID[$name]:-}" ] || fail "netbed: no namespace '$name'"
    bg nsenter -t "${NB_PID[$name]}" -n -- "$@"
}

# _nb_bits RATE: "5M" (bytes/s) -> tc's "40000000bit".
_nb_bits() {
    local r=$1 n mult=1
    case "$r" in
        *G) mult=1000000000; n=${r%G} ;;
        *M) mult=1000000; n=${r%M} ;;
        *k) mult=1000; n=${r%k} ;;
        *) n=$r ;;
    esac
    "${PY_FAST[@]}" -c 'import sys; print(int(float(sys.argv[1]) * int(sys.argv[2]) * 8))' "$n" "$mult"
}

# _nb_cap NS DEV RATE: egress of DEV in NS capped at RATE (HTB class with a bfifo of ~100 ms, at least 64 KiB).
_nb_cap() {
    local ns=$1 dev=$2 bits buf
    bits=$(_nb_bits "$3")
    buf=$((bits / 8 / 10))
    [ "$buf" -ge 65536 ] || buf=65536
    nb "$ns" tc qdisc add dev "$dev" root handle 1: htb default 10
    nb "$ns" tc class add dev "$dev" parent 1: classid 1:10 htb rate "${bits}bit" ceil "${bits}bit" burst 32k cburst 32k quantum 60000
    nb "$ns" tc qdisc add dev "$dev" parent 1:10 handle 10: bfifo limit "$buf"
}

# nb_public: namespace "pub" with the bridge br0 (no address of its own) that public hosts and routers attach to.
nb_public() {
    nb_node pub
    nb pub ip link add br0 type bridge
    nb pub ip link set br0 up
    # Multicast snooping off and no STP delay: the bridge forwards at once.
    nb pub ip link set br0 type bridge forward_delay 0 stp_state 0 mcast_snooping 0
}

# _nb_link NS DEV: a veth pair, DEV in NS, the other end ("p-DEV-NS" shortened) attached to br0 in pub. Prints the
# bridge-side name.
_nb_link() {
    local ns=$1 dev=$2 peer
    peer="b${#NB_PID[@]}$ns"
    peer=${peer:0:15}
    ip link add "nbt$$" type veth peer name "nbp$$"
    ip link set "nbt$$" netns "${NB_PID[$ns]}"
    ip link set "nbp$$" netns "${NB_PID[pub]}"
    nb "$ns" ip link set "nbt$$" name "$dev"
    nb pub ip link set "nbp$$" name "$peer"
    nb pub ip link set "$peer" master br0 up
    nb "$ns" ip link set "$dev" up
    echo "$peer"
}

# nb_host NAME IP [--up RATE] [--down RATE]: a host on the public segment at IP/24.
nb_host() {
    local name=$1 ip=$2 up="" down="" peer
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
            --up) up=$2; shift 2 ;;
            --down) down=$2; shift 2 ;;
            *) fail "nb_host: unknown option $1" ;;
        esac
    done
    nb_node "$name"
    peer=$(_nb_link "$name" eth0)
    nb "$name" ip addr add "$ip/24" dev eth0
    [ -z "$up" ] || _nb_cap "$name" eth0 "$up"
    [ -z "$down" ] || _nb_cap pub "$peer" "$down"
}

# nb_home NAME N [--upnp] [--firewall|--reject] [--up RATE] [--down RATE] [--delay-ms D] [--loss P]: router NAME-gw (WAN
# 11.0.0.(100+N), LAN 192.168.N.1) and host NAME (192.168.N.2, default route via the router). Sets NB_WAN[NAME] (the
# router's public address) and, with delay or loss, NB_DELAY_PID[NAME] (the forwarder; on SIGTERM it writes its counters
# to $T/netbed/NAME-gw/netdelay.log).
declare -A NB_WAN=() NB_DELAY_PID=()
nb_home() {
    local name=$1 n=$2 upnp=0 up="" down="" delay="" loss=0 firewall=0 gw="$1-gw" wan lan
    shift 2
    while [ $# -gt 0 ]; do
        case "$1" in
            --upnp) upnp=1; shift ;;
            --up) up=$2; shift 2 ;;
            --down) down=$2; shift 2 ;;
            --delay-ms) delay=$2; shift 2 ;;
            --loss) loss=$2; shift 2 ;;
            --firewall) firewall=1; shift ;;
            --reject) firewall=2; shift ;;
            *) fail "nb_home: unknown option $1" ;;
        esac
    done
    wan="11.0.0.$((100 + n))"
    lan="192.168.$n"
    NB_WAN[$name]=$wan
    nb_node "$gw"
    nb_node "$name"
    _nb_link "$gw" wan >/dev/null
    nb "$gw" ip addr add "$wan/24" dev wan
    # The LAN: a veth pair between router and host.
    ip link add "nbt$$" type veth peer name "nbp$$"
    ip link set "nbt$$" netns "${NB_PID[$gw]}"
    ip link set "nbp$$" netns "${NB_PID[$name]}"
    nb "$gw" ip link set "nbt$$" name lan
    nb "$name" ip link set "nbp$$" name eth0
    nb "$gw" ip addr add "$lan.1/24" dev lan
    nb "$name" ip addr add "$lan.2/24" dev eth0
    nb "$gw" ip link set lan up
    nb "$name" ip link set eth0 up
    nb "$name" ip route add default via "$lan.1"
    nb "$gw" sysctl -q -w net.ipv4.ip_forward=1
    nb "$gw" iptables -w -t nat -A POSTROUTING -o wan -j MASQUERADE
    # --firewall: like most home routers, drop what arrives from the WAN for the router itself unless it belongs to
    # a connection the router knows. A dropped packet's connection-tracking entry is never confirmed, so an
    # unsolicited packet leaves no entry behind (without the rule the router answers it, e.g. ICMP port unreachable,
    # and its entry then holds that address pair for 30 s: see docs/transport.md, "BEP 55 hole punching").
    # --reject: the same packets refused instead of dropped (TCP reset, ICMP port unreachable), as OpenWrt's default
    # WAN zone does: a connection attempt fails at once instead of timing out, and still leaves no entry behind.
    [ "$firewall" != 1 ] || nb "$gw" iptables -w -A INPUT -i wan -m conntrack --ctstate NEW,INVALID -j DROP
    if [ "$firewall" = 2 ]; then
        nb "$gw" iptables -w -A INPUT -i wan -p tcp -m conntrack --ctstate NEW,INVALID -j REJECT --reject-with tcp-reset
        nb "$gw" iptables -w -A INPUT -i wan -m conntrack --ctstate NEW,INVALID -j REJECT
    fi
    [ -z "$up" ] || _nb_cap "$gw" wan "$up"
    [ -z "$down" ] || _nb_cap "$gw" lan "$down"
    if [ -n "$delay" ] || [ "$loss" != 0 ]; then
        [ -x "$NB_NETDELAY" ] || fail "netbed: $NB_NETDELAY is missing (build the tests)"
        mkdir -p "$T/netbed/$gw"
        nb_bg "$gw" "$NB_NETDELAY" --dev dly --delay-ms "${delay:-0}" --loss "$loss" --seed "$n" \
            2>"$T/netbed/$gw/netdelay.log"
        NB_DELAY_PID[$name]=$BG_PID
        local i
        for i in $(seq 1 200); do nb "$gw" ip link show dly >/dev/null 2>&1 && break; sleep 0.01; done
        nb "$gw" ip link set dly up
        local k
        for k in all default lan wan dly; do nb "$gw" sysctl -q -w "net.ipv4.conf.$k.rp_filter=0"; done
        nb "$gw" ip route add default dev dly table 100
        nb "$gw" ip rule add iif lan lookup 100 priority 100
        nb "$gw" ip rule add iif wan lookup 100 priority 101
        nb "$gw" iptables -w -t raw -A PREROUTING -i lan -j NOTRACK
        nb "$gw" iptables -w -t raw -A PREROUTING -i dly -d "$lan.0/24" -j NOTRACK
    fi
    [ "$upnp" = 0 ] || _nb_upnp "$gw" "$n"
}

# _nb_upnp GW N: miniupnpd on GW's LAN side (UPnP IGD and NAT-PMP), mapping ports for 192.168.N.0/24 only.
_nb_upnp() {
    local gw=$1 n=$2 d="$T/netbed/$1" i
    command -v miniupnpd >/dev/null || fail "miniupnpd is required by the network testbed (scripts/setup.sh installs it)"
    command -v nft >/dev/null || fail "nft is required by the network testbed (scripts/setup.sh installs nftables)"
    mkdir -p "$d"
    cat >"$d/nft.conf" <<NFT
table inet miniupnpd {
    chain forward { type filter hook forward priority 0; policy accept; jump miniupnpd; }
    chain miniupnpd { }
    chain prerouting { type nat hook prerouting priority -100; policy accept; jump prerouting_miniupnpd; }
    chain postrouting { type nat hook postrouting priority 100; policy accept; jump postrouting_miniupnpd; }
    chain prerouting_miniupnpd { }
    chain postrouting_miniupnpd { }
}
NFT
    nb "$gw" nft -f "$d/nft.conf"
    cat >"$d/miniupnpd.conf" <<CONF
ext_ifname=wan
listening_ip=lan
port=0
enable_natpmp=yes
enable_upnp=yes
secure_mode=yes
system_uptime=yes
notify_interval=60
clean_ruleset_interval=600
uuid=00000000-0000-4000-8000-00000000000$n
upnp_table_name=miniupnpd
upnp_nat_table_name=miniupnpd
upnp_forward_chain=miniupnpd
upnp_nat_chain=prerouting_miniupnpd
upnp_nat_postrouting_chain=postrouting_miniupnpd
allow 1024-65535 192.168.$n.0/24 1024-65535
deny 0-65535 0.0.0.0/0 0-65535
CONF
    # -d: stay in the foreground (killed by PID like every other process); its own pid file.
    nb_bg "$gw" miniupnpd -d -f "$d/miniupnpd.conf" -P "$d/miniupnpd.pid" 2>"$d/miniupnpd.log"
    for i in $(seq 1 100); do
        nb "$gw" ss -lun 2>/dev/null | grep -q ':5351 ' && return 0
        sleep 0.05
    done
    cat "$d/miniupnpd.log" >&2
    fail "miniupnpd did not start on $gw"
}

# nb_upnp_maps GW: the port maps miniupnpd holds on GW (nft rules of its prerouting chain), one per line.
nb_upnp_maps() {
    nb "$1" nft list chain inet miniupnpd prerouting_miniupnpd | grep -E 'dnat' || true
}

# nb_serve NS REPO OUTFILE IP:PORT [serve options...]: `dvt --json serve` in namespace NS in the background, waiting
# for its ready line (lib.sh's start_serve, in a namespace). Sets SERVE_PID and PEER.
nb_serve() {
    local ns=$1 repo=$2 out=$3 addr=$4
    shift 4
    nb_bg "$ns" "$DVT" -C "$repo" --json serve --listen "$addr" "$@" >"$out" 2>"$out.err"
    serve_ready "$BG_PID" "$out" "$repo on $addr in $ns"
}

# nb_wait_grep SECONDS REGEX FILE: wait until FILE matches REGEX; fail after SECONDS.
nb_wait_grep() {
    local s=$1 re=$2 f=$3 i
    for i in $(seq 1 $((s * 10))); do grep -Eq -- "$re" "$f" 2>/dev/null && return 0; sleep 0.1; done
    echo "--- $f:" >&2; cat "$f" >&2
    fail "no /$re/ in $f within $s s"
}

# nb_nginx NS IP:PORT WWW [RATE]: nginx in namespace NS serving directory WWW on IP:PORT (private config under
# $T/netbed/nginx-NS), one process (no master: nothing to orphan), in the background; waits until it answers. RATE (bytes/s, e.g. 5M) caps each response
# (limit_rate), for comparisons with capped peers. Sets NG_PID.
nb_nginx() {
    local ns=$1 addr=$2 www=$3 rate=${4:-} d="$T/netbed/nginx-$1" i lr=""
    command -v nginx >/dev/null || fail "nginx is required (scripts/setup.sh installs it)"
    [ -z "$rate" ] || lr="limit_rate $(( $(_nb_bits "$rate") / 8 ));"
    mkdir -p "$d"
    chmod 755 "$T" "$www"
    cat >"$d/nginx.conf" <<NGINX
daemon off;
master_process off;
pid $d/nginx.pid;
error_log $d/error.log;
events { worker_connections 256; }
http {
  access_log $d/access.log;
  client_body_temp_path $d; proxy_temp_path $d; fastcgi_temp_path $d; uwsgi_temp_path $d; scgi_temp_path $d;
  server { listen $addr; root $www; $lr }
}
NGINX
    nb_bg "$ns" nginx -c "$d/nginx.conf" -p "$d"
    NG_PID=$BG_PID
    for i in $(seq 1 50); do nb "$ns" curl -s -o /dev/null "http://$addr/" && return 0; sleep 0.1; done
    fail "nginx did not answer on http://$addr/ in $ns"
}

# nb_forward NAME PORT: a static port forward (DNAT) on home NAME's router: TCP PORT on its WAN address goes to the
# home host's PORT (a server at home that its owner forwarded by hand, e.g. the central baseline's nginx in
# bench/wan.sh, so that it sits behind the same kind of link as the peers).
nb_forward() {
    local name=$1 port=$2
    nb "$name-gw" iptables -w -t nat -A PREROUTING -i wan -p tcp --dport "$port" -j DNAT \
        --to-destination "$(nb "$name" ip -4 -o addr show dev eth0 | awk '{print $4}' | cut -d/ -f1):$port"
}

# nb_source_repo DIR BYTES SEED: a new repository DIR (outside the testbed's namespaces) holding make_tree's files and
# data/blob.bin of BYTES pseudo-random bytes (gen_bytes SEED), committed as "v1": sets ID to the commit, writes DIR's
# digest to $T/want.digest, and leaves the working directory at $T.
nb_source_repo() {
    local dir=$1 bytes=$2 seed=$3
    mkdir -p "$dir"
    cd "$dir"
    expect_exit 0 "$DVT" init
    make_tree "$dir"
    gen_bytes "$bytes" "$seed" >"$dir/data/blob.bin"
    ID=$(commit_id "v1")
    tree_digest "$dir" >"$T/want.digest"
    cd "$T"
}

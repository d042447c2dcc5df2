#!/usr/bin/env bash
# Network-namespace lab for the evidence system tests: a "switch" namespace with a bridge, a
# client namespace and N target namespaces, all on a private /24 that exists only inside the lab.
# No address is added to the root namespace and no lab namespace has a default route, so lab
# traffic can never leave the machine.
#
#   netns-lab.sh up LAB N SUBNET      e.g. up tirlab 2 10.213.0   (client .1, targets .11 .. .1N)
#   netns-lab.sh down LAB N
#   netns-lab.sh target-exec NS HOSTNAME LOGDIR CMD...   run CMD in NS with its own hostname and /var/log
set -euo pipefail

cmd=${1:?usage: netns-lab.sh up|down|target-exec ...}
shift

case "$cmd" in
  up)
    lab=${1:?lab name}; n=${2:?target count}; net=${3:?subnet prefix like 10.213.0}
    sw="$lab-sw"
    ip netns add "$sw"
    ip -n "$sw" link add br0 type bridge
    ip -n "$sw" link set br0 up
    ip -n "$sw" link set lo up
    attach() { # ns veth-name address
      local ns=$1 v=$2 addr=$3
      ip netns add "$ns"
      ip link add "$v" type veth peer name "$v-p"
      ip link set "$v" netns "$ns"
      ip link set "$v-p" netns "$sw"
      ip -n "$sw" link set "$v-p" master br0
      ip -n "$sw" link set "$v-p" up
      ip -n "$ns" link set lo up
      ip -n "$ns" link set "$v" name eth0
      ip -n "$ns" addr add "$addr/24" dev eth0
      ip -n "$ns" link set eth0 up
    }
    attach "$lab-c" "${lab}c" "$net.1"
    for i in $(seq 1 "$n"); do attach "$lab-t$i" "${lab}t$i" "$net.$((10 + i))"; done
    ;;
  down)
    lab=${1:?lab name}; n=${2:?target count}
    for i in $(seq 1 "$n"); do ip netns del "$lab-t$i" 2>/dev/null || true; done
    ip netns del "$lab-c" 2>/dev/null || true
    ip netns del "$lab-sw" 2>/dev/null || true
    ;;
  target-exec)
    ns=${1:?namespace}; name=${2:?hostname}; logdir=${3:?log dir}
    shift 3
    # exec all the way down, so the caller's child pid is the daemon's pid.
    exec ip netns exec "$ns" unshare --uts --mount --propagation private \
      sh -c 'hostname "$1" && mount --bind "$2" /var/log && shift 2 && exec "$@"' sh "$name" "$logdir" "$@"
    ;;
  *)
    echo "unknown subcommand: $cmd" >&2
    exit 2
    ;;
esac

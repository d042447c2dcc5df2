#!/usr/bin/env bash
# Private Debian dockerd for the container-forensics tests. It owns its data root, socket and
# pidfile under DIR, and is started with the flags that leave the host's iptables, IP forwarding
# and bridges untouched (containers run with --network none).
#
#   dockerd-lab.sh run DIR                       exec dockerd in the foreground (caller keeps the pid)
#   dockerd-lab.sh image DIR TAG                 import a registry-free busybox image as TAG
#   dockerd-lab.sh entrypoint-image DIR TAG FILE the same image with FILE as its entrypoint
#                                                (/usr/local/bin/entrypoint), e.g. a fake sidecar
set -euo pipefail
cmd=${1:?usage: dockerd-lab.sh run|image|entrypoint-image DIR}
dir=${2:?dir}

# A busybox-static root file system under $dir/rootfs.
make_rootfs() {
  root="$dir/rootfs"
  rm -rf "$root"
  mkdir -p "$root/bin" "$root/etc" "$root/tmp" "$root/var/log" "$root/usr/local/bin"
  cp "$(command -v busybox)" "$root/bin/busybox"
  for t in sh ls cat echo sleep printf touch mkdir rm mv head tail env id hostname wc ps; do ln -s busybox "$root/bin/$t"; done
  printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
  printf 'root:x:0:\n' >"$root/etc/group"
}

case "$cmd" in
  run)
    mkdir -p "$dir/data" "$dir/exec"
    exec dockerd --data-root "$dir/data" --exec-root "$dir/exec" --pidfile "$dir/dockerd.pid" \
      -H "unix://$dir/docker.sock" --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
      --bridge=none --userland-proxy=false --default-runtime=runc
    ;;
  image)
    tag=${3:?tag}
    make_rootfs
    tar -C "$root" -c . | DOCKER_HOST="unix://$dir/docker.sock" docker import --change 'CMD ["/bin/sh"]' - "$tag" >/dev/null
    rm -rf "$root"
    ;;
  entrypoint-image)
    tag=${3:?tag}
    entry=${4:?entrypoint file}
    make_rootfs
    cp "$entry" "$root/usr/local/bin/entrypoint"
    chmod 0755 "$root/usr/local/bin/entrypoint"
    tar -C "$root" -c . | DOCKER_HOST="unix://$dir/docker.sock" docker import --change 'ENTRYPOINT ["/usr/local/bin/entrypoint"]' - "$tag" >/dev/null
    rm -rf "$root"
    ;;
  *)
    echo "unknown subcommand: $cmd" >&2
    exit 2
    ;;
esac

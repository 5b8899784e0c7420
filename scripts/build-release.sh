#!/usr/bin/env bash
# Builds minga for a blank server: artifacts/minga-VERSION-linux-ARCH.tar.gz
# (and its .sha256). Debian 12 ships Node.js 18, older than minga needs, so
# the tarball carries its own runtime: this machine's Node.js binary (it
# links only glibc and libstdc++, which every Debian has), the built
# workspaces and their production dependencies (native addons as the
# prebuilt binaries their packages ship). Unpacked anywhere, minga/bin/minga
# runs. `minga node script` installs it on a server; `npm run release`
# runs this.
set -euo pipefail
cd "$(dirname "$0")/.."

version=$(node -p "require('./package.json').version")
arch=$(node -p 'process.arch')
name="minga-${version}-linux-${arch}"
out="artifacts"
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

npm run build >/dev/null
app="$stage/minga/app"
mkdir -p "$app" "$stage/minga/bin" "$stage/minga/node/bin"
cp package.json package-lock.json "$app/"
for ws in protocol scheduler node simulations packages/compose packages/cli test; do
  mkdir -p "$app/$ws"
  cp "$ws/package.json" "$app/$ws/"
  if [ "$ws" != test ]; then cp -r "$ws/dist" "$app/$ws/"; rm -rf "$app/$ws/dist/test"; fi
done
cp -r packages/cli/bin "$app/packages/cli/"
# production dependencies of the CLI and the workspaces it uses, from the lock file (the npm cache serves what it holds)
(cd "$app" && npm ci --omit=dev --ignore-scripts --no-audit --no-fund --prefer-offline --workspace packages/cli >/dev/null)
rm -rf "$app/test"
cp "$(command -v node)" "$stage/minga/node/bin/node"
cat > "$stage/minga/bin/minga" <<'WRAPPER'
#!/bin/sh
# minga with its own Node.js runtime (see /opt/minga/VERSION)
here=$(dirname "$(readlink -f "$0")")
exec "$here/../node/bin/node" "$here/../app/packages/cli/bin/minga.js" "$@"
WRAPPER
chmod 755 "$stage/minga/bin/minga"
printf '%s\nnode %s\n' "$name" "$(node --version)" > "$stage/minga/VERSION"

mkdir -p "$out"
# a fixed mtime and owner: the same build gives the same tarball
tar --sort=name --mtime='2026-01-01 00:00Z' --owner=0 --group=0 --numeric-owner -C "$stage" -cf - minga | gzip -n -6 > "$out/$name.tar.gz"
(cd "$out" && sha256sum "$name.tar.gz" > "$name.tar.gz.sha256")
echo "$out/$name.tar.gz $(du -h "$out/$name.tar.gz" | cut -f1)"

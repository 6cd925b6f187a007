#!/usr/bin/env bash
# npm run deb [-- <arch>…]: the Debian packages halpid_<version>_<arch>.deb and
# signalk-halpi2_<version>_all.deb in dist/, from a clean checkout: halpid for arm64 (every HALPI2)
# and this machine's architecture unless architectures are named.
# The application is bundled here (esbuild: the daemon and the CLI as two files, the panel, and
# i2c-bus with its native addon prebuilt for the package's architecture and each supported Node
# major, scripts/build-prebuilds.sh); debian/ then packages it with debhelper, cross-building
# (dpkg-buildpackage -a) for a foreign architecture. Prints the path of each package.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null || { echo "npm run deb needs $tool: apt-get install debhelper dpkg-dev" >&2; exit 1; }
done
[ -d node_modules ] || npm ci

version=$(node -p "require('./package.json').version")
changelog=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$version" = "$changelog" ] || { echo "package.json says $version, debian/changelog $changelog" >&2; exit 1; }

native=$(dpkg --print-architecture)
if [ $# -gt 0 ]; then arches=("$@"); else arches=(arm64); [ "$native" = arm64 ] || arches+=("$native"); fi
for arch in "${arches[@]}"; do
  case "$arch" in amd64) node_arch=x64 ;; arm64) node_arch=arm64 ;; *) echo "npm run deb: unsupported architecture $arch (amd64, arm64)" >&2; exit 2 ;; esac
  if [ "$arch" != "$native" ]; then
    command -v aarch64-linux-gnu-strip >/dev/null || { echo "npm run deb: building for $arch needs the cross tools: apt-get install gcc-aarch64-linux-gnu g++-aarch64-linux-gnu" >&2; exit 1; }
  fi
  HALPI2_PREBUILD_ARCHES=$node_arch bash scripts/build-prebuilds.sh >/dev/null
done

rm -rf build/deb
npm run --silent build:webapp
# The bins as npm run build bundles them (dist/bin/: two entries, the rest of each command, lib/).
npm run --silent build:bins
for mod in i2c-bus bindings file-uri-to-path; do
  [ -d "node_modules/$mod" ] || { echo "node_modules/$mod is missing (npm ci installs it)" >&2; exit 1; }
done

# signalk-halpi2 (Architecture: all) is built once, with this machine's halpid (or the first named).
indep=${arches[0]}
for arch in "${arches[@]}"; do [ "$arch" = "$native" ] && indep=$native; done
halpid_debs=()
for arch in "${arches[@]}"; do
  case "$arch" in amd64) node_arch=x64 ;; arm64) node_arch=arm64 ;; esac
  stage="build/deb/$arch/halpid-$version"
  mkdir -p "$stage/app/node_modules"
  cp -r debian systemd README.md LICENSE "$stage/"
  mkdir -p "$stage/docs" && cp docs/*.md "$stage/docs/"
  cp -r public "$stage/app/public"
  cp -r dist/bin/halpid.cjs dist/bin/halpid-run.cjs dist/bin/halpi.cjs dist/bin/halpi-program.cjs dist/bin/lib "$stage/app/"
  # The launchers in /usr/bin run them with the V8 flags; their own first line is not used.
  sed -i '1{/^#!/d}' "$stage/app/halpid.cjs" "$stage/app/halpi.cjs"
  chmod 644 "$stage/app/halpid.cjs" "$stage/app/halpi.cjs"
  # i2c-bus's JavaScript and what it needs at run time (nan is only for building it); the addon
  # comes prebuilt for each Node major (engine/i2c-loader.ts picks the running one's). Their
  # licences are in debian/copyright.
  mkdir -p "$stage/app/node_modules/i2c-bus" "$stage/app/node_modules/bindings" "$stage/app/node_modules/file-uri-to-path"
  cp node_modules/i2c-bus/{package.json,i2c-bus.js} "$stage/app/node_modules/i2c-bus/"
  cp node_modules/bindings/{package.json,bindings.js} "$stage/app/node_modules/bindings/"
  cp node_modules/file-uri-to-path/{package.json,index.js} "$stage/app/node_modules/file-uri-to-path/"
  mkdir -p "$stage/app/prebuilds/linux-$node_arch"
  cp prebuilds/linux-"$node_arch"/i2c.abi*.node "$stage/app/prebuilds/linux-$node_arch/"
  # halpi's shell completion, made by halpi itself from its command tree (debian/halpid.install).
  mkdir -p "$stage/completions"
  node dist/bin/halpi.cjs completion bash >"$stage/completions/halpi"
  node dist/bin/halpi.cjs completion zsh >"$stage/completions/_halpi"

  # -B: halpid only (arch-dependent); -b: signalk-halpi2 too.
  binaries=-B
  if [ "$arch" = "$indep" ]; then
    binaries=-b
    # signalk-halpi2 (debian/signalk-halpi2.*): the Signal K plugin for HaLOS, npm pack's contents
    # without the bins and i2c-bus's addons (halpid's package has them) and with a package.json
    # that gives npm nothing to do (no scripts, no dependencies: the plugin is one bundle), which
    # HaLOS's npm installs would otherwise act on through the plugin's file: dependency.
    npm run --silent build:plugin
    mkdir -p "$stage/plugin"
    npm pack --ignore-scripts --silent --pack-destination build/deb >/dev/null
    tar -xzf "build/deb/signalk-halpi2-$version.tgz" -C "$stage/plugin" --strip-components=1
    rm -rf "$stage/plugin/dist/bin" "$stage/plugin/prebuilds"
    node -e '
      const fs = require("fs"), file = process.argv[1], pkg = JSON.parse(fs.readFileSync(file, "utf8"));
      for (const k of ["bin", "files", "scripts", "dependencies", "devDependencies", "optionalDependencies",
        "peerDependencies", "peerDependenciesMeta", "allowScripts", "tap"]) delete pkg[k];
      fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
    ' "$stage/plugin/package.json"
  fi

  cross=()
  [ "$arch" = "$native" ] || cross=(--host-arch "$arch")
  (cd "$stage" && dpkg-buildpackage -us -uc "$binaries" --no-sign "${cross[@]}" >../build.log 2>&1) || { cat "build/deb/$arch/build.log" >&2; exit 1; }
  mkdir -p dist
  mv "build/deb/$arch/halpid_${version}_${arch}.deb" dist/
  [ "$arch" != "$indep" ] || mv "build/deb/$arch/signalk-halpi2_${version}_all.deb" dist/
  halpid_debs+=("dist/halpid_${version}_${arch}.deb")
done
# The staging tree is not needed any more, and it holds a dangling link (debhelper's dbgsym doc
# link) that trips tools walking the checkout, such as npm run mutate.
rm -rf build/deb
rmdir build 2>/dev/null || true
# The halpid packages last, in the order of the architectures (the tests read them from the end).
echo "dist/signalk-halpi2_${version}_all.deb"
printf '%s\n' "${halpid_debs[@]}"

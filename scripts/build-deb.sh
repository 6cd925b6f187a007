#!/usr/bin/env bash
# npm run deb: the Debian packages halpid_<version>_<arch>.deb and signalk-halpi2_<version>_all.deb
# in dist/, from a clean checkout.
# The application is bundled here (esbuild: the daemon and the CLI as two files, the panel, and
# the native i2c-bus addon as npm built it for this machine's architecture); debian/ then packages
# it with debhelper. The same command on an arm64 machine makes the HALPI2's package.
set -euo pipefail
cd "$(dirname "$0")/.."

for tool in dpkg-buildpackage dh; do
  command -v "$tool" >/dev/null || { echo "npm run deb needs $tool: apt-get install debhelper dpkg-dev" >&2; exit 1; }
done
[ -d node_modules ] || npm ci

version=$(node -p "require('./package.json').version")
changelog=$(dpkg-parsechangelog -l debian/changelog -S Version)
[ "$version" = "$changelog" ] || { echo "package.json says $version, debian/changelog $changelog" >&2; exit 1; }

stage="build/deb/halpid-$version"
rm -rf build/deb
mkdir -p "$stage/app/node_modules"
cp -r debian systemd README.md LICENSE "$stage/"
mkdir -p "$stage/docs" && cp docs/*.md "$stage/docs/"

npm run --silent build:webapp
cp -r public "$stage/app/public"
rm -f "$stage"/app/public/*.gz "$stage"/app/public/*.br # for Signal K's static server; halpid serves the files

# The bins as npm run build bundles them (dist/bin/: two entries and their chunks).
npm run --silent build:bins
cp -r dist/bin/halpid.mjs dist/bin/halpi.mjs dist/bin/chunks "$stage/app/"
# The launchers in /usr/bin run them with the V8 flags; their own first line is not used.
sed -i '1{/^#!/d}' "$stage/app/halpid.mjs" "$stage/app/halpi.mjs"
chmod 644 "$stage/app/halpid.mjs" "$stage/app/halpi.mjs"

# The native addon and what it needs at run time (nan is only for building it).
for mod in i2c-bus bindings file-uri-to-path; do
  [ -d "node_modules/$mod" ] || { echo "node_modules/$mod is missing (npm ci builds i2c-bus)" >&2; exit 1; }
done
mkdir -p "$stage/app/node_modules/i2c-bus/build/Release"
# Their licences are in debian/copyright.
cp node_modules/i2c-bus/{package.json,i2c-bus.js} "$stage/app/node_modules/i2c-bus/"
cp node_modules/i2c-bus/build/Release/i2c.node "$stage/app/node_modules/i2c-bus/build/Release/"
mkdir -p "$stage/app/node_modules/bindings" "$stage/app/node_modules/file-uri-to-path"
cp node_modules/bindings/{package.json,bindings.js} "$stage/app/node_modules/bindings/"
cp node_modules/file-uri-to-path/{package.json,index.js} "$stage/app/node_modules/file-uri-to-path/"

# signalk-halpi2 (debian/signalk-halpi2.*): the Signal K plugin for HaLOS, npm pack's contents
# without the bins (halpid's package has them) and with a package.json that gives npm nothing to
# do (no scripts, no dependencies: the plugin is one bundle), which HaLOS's npm installs would
# otherwise act on through the plugin's file: dependency.
npm run --silent build:plugin
mkdir -p "$stage/plugin"
npm pack --ignore-scripts --silent --pack-destination build/deb >/dev/null
tar -xzf "build/deb/signalk-halpi2-$version.tgz" -C "$stage/plugin" --strip-components=1
rm -rf "$stage/plugin/dist/bin"
node -e '
  const fs = require("fs"), file = process.argv[1], pkg = JSON.parse(fs.readFileSync(file, "utf8"));
  for (const k of ["bin", "files", "scripts", "dependencies", "devDependencies", "optionalDependencies",
    "peerDependencies", "peerDependenciesMeta", "allowScripts", "tap"]) delete pkg[k];
  fs.writeFileSync(file, JSON.stringify(pkg, null, 2) + "\n");
' "$stage/plugin/package.json"

(cd "$stage" && dpkg-buildpackage -us -uc -b --no-sign >../build.log 2>&1) || { cat build/deb/build.log >&2; exit 1; }
arch=$(dpkg --print-architecture)
mkdir -p dist
mv "build/deb/halpid_${version}_${arch}.deb" dist/
mv "build/deb/signalk-halpi2_${version}_all.deb" dist/
echo "dist/signalk-halpi2_${version}_all.deb"
echo "dist/halpid_${version}_${arch}.deb"

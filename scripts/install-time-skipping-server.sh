#!/usr/bin/env bash
# Installs Temporal's Java time-skipping test server (io.temporal:temporal-test-server, main class
# io.temporal.testserver.TestServer) with Maven into a folder outside the clone, and writes a
# launcher the TypeScript SDK runs as an `existing-path` executable (`launcher <port>`).
# Usage: scripts/install-time-skipping-server.sh [DIR]   (default ~/.cache/neuro-forecast/test-server)
set -euo pipefail
version="${TEMPORAL_TEST_SERVER_VERSION:-1.38.0}"
dir="${1:-$HOME/.cache/neuro-forecast/test-server}"
launcher="$dir/temporal-test-server"
if [ -x "$launcher" ] && [ "$(cat "$dir/VERSION" 2>/dev/null)" = "$version" ]; then echo "$launcher"; exit 0; fi
command -v java >/dev/null && command -v mvn >/dev/null || { echo "install-time-skipping-server: needs java and mvn on PATH" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cat > "$work/pom.xml" <<POM
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>neuro.local</groupId><artifactId>time-skipping-server</artifactId><version>1</version>
  <dependencies>
    <dependency><groupId>io.temporal</groupId><artifactId>temporal-test-server</artifactId><version>$version</version></dependency>
  </dependencies>
</project>
POM
rm -rf "$dir/lib"
mkdir -p "$dir"
mvn -B -q -Dstyle.color=never -f "$work/pom.xml" dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$dir/lib" >&2
# A client JIT and the serial GC start the JVM in a few seconds, well inside the SDK's start deadline.
cat > "$launcher" <<'SH'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
exec java -XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xss512k -cp "$here/lib/*" io.temporal.testserver.TestServer "$@"
SH
chmod +x "$launcher"
echo "$version" > "$dir/VERSION"
echo "$launcher"

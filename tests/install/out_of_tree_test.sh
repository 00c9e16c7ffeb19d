#!/bin/sh
# The out-of-tree proof of issue 15: an app developer who never saw our tree
# uses the INSTALLED Sotto. Installs the build into a temporary prefix, builds
# examples/cpp (find_package(Sotto)) and examples/c (pkg-config sotto) against
# that prefix only (examples/python runs with the installed package), starts the installed sotto-server on a free loopback port
# and has each example register as a client of a therapist who uses the
# installed `sotto` command, send a message, get the therapist's reply and
# print the conversation.
#
# Usage: out_of_tree_test.sh BUILD_DIR SOURCE_DIR LIBDIR
#   LIBDIR: CMAKE_INSTALL_LIBDIR, relative to the prefix (lib, lib/x86_64-...)
# Env (set by tests/install/CMakeLists.txt in the sanitized tree, whose
# libsotto needs the ASan/UBSan runtime in the program that loads it):
#   SOTTO_EXAMPLE_CC, SOTTO_EXAMPLE_CXX  compilers for the examples
#   SOTTO_EXAMPLE_FLAGS                  extra compile and link flags
#   SOTTO_PYTHON_PRELOAD                 the runtime python3 gets preloaded
set -eu
build_dir=$1
source_dir=$2
libdir=$3

work=$(mktemp -d)
server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then
    kill "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}

prefix=$work/prefix
echo "== cmake --install $build_dir --prefix $prefix"
cmake --install "$build_dir" --prefix "$prefix" >"$work/install.log" 2>&1 ||
  { cat "$work/install.log"; fail "cmake --install failed"; }
for f in bin/sotto libexec/sotto/sotto-cli bin/sotto-server "$libdir/libsotto.so" "$libdir/libsotto.so.1" \
         include/sotto/client.h include/sotto/export.h "$libdir/cmake/Sotto/SottoConfig.cmake" \
         "$libdir/cmake/Sotto/SottoConfigVersion.cmake" "$libdir/pkgconfig/sotto.pc"; do
  [ -e "$prefix/$f" ] || fail "the install has no $f"
done

# The examples see the prefix and nothing of the source or build tree.
launcher=""
command -v ccache >/dev/null && launcher="-DCMAKE_CXX_COMPILER_LAUNCHER=ccache"
echo "== examples/cpp: find_package(Sotto) with CMAKE_PREFIX_PATH=$prefix"
extra=${SOTTO_EXAMPLE_FLAGS:-}
cmake -S "$source_dir/examples/cpp" -B "$work/cpp" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=Release $launcher ${SOTTO_EXAMPLE_CXX:+-DCMAKE_CXX_COMPILER=$SOTTO_EXAMPLE_CXX} \
  -DCMAKE_CXX_FLAGS="$extra" -DCMAKE_EXE_LINKER_FLAGS="$extra" >"$work/cpp.log" 2>&1 &&
  cmake --build "$work/cpp" >>"$work/cpp.log" 2>&1 ||
  { cat "$work/cpp.log"; fail "examples/cpp did not build against the installed tree"; }
cpp_example=$work/cpp/sotto-example-cpp

[ -e "$prefix/include/sotto/sotto.h" ] || fail "the install has no include/sotto/sotto.h (the C API)"
echo "== examples/c: make with PKG_CONFIG_PATH=$prefix/$libdir/pkgconfig"
PKG_CONFIG_PATH="$prefix/$libdir/pkgconfig" make -C "$source_dir/examples/c" \
  OUT="$work/c" ${SOTTO_EXAMPLE_CC:+CC=$SOTTO_EXAMPLE_CC} CFLAGS="-O2 $extra" >"$work/c.log" 2>&1 ||
  { cat "$work/c.log"; fail "examples/c did not build against the installed tree"; }
c_example=$work/c/sotto-example-c

echo "== the installed sotto-server on a free loopback port"
"$prefix/bin/sotto-server" --data-dir "$work/server" --listen 127.0.0.1:0 \
  >"$work/server.log" 2>&1 &
server_pid=$!
address=""
for _ in $(seq 1 200); do
  address=$(sed -n 's/.*listening on \([^ ]*\).*/\1/p' "$work/server.log" | head -1)
  [ -n "$address" ] && break
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$address" ] || { cat "$work/server.log"; fail "sotto-server did not start"; }

sotto() {
  SOTTO_PASSPHRASE="an installed therapist's passphrase" "$prefix/bin/sotto" \
    --profile "$work/therapist" "$@"
}
code=$("$prefix/bin/sotto-server" enrol-therapist --data-dir "$work/server" --name dr-lee |
  sed -n 's/^Enrolment code for dr-lee: //p')
[ -n "$code" ] || fail "enrol-therapist printed no code"
sotto init --server "$address" --role therapist --name dr-lee --enrol "$code" >/dev/null ||
  fail "the installed sotto could not register the therapist"

# exchange EXAMPLE HANDLE: EXAMPLE registers HANDLE with an invite from
# dr-lee and writes; dr-lee reads it with the CLI and replies; EXAMPLE
# prints the conversation, which must hold both messages.
exchange() {
  example=$1
  handle=$2
  invite=$(sotto invite | sed -n 's/^Invite code: //p')
  [ -n "$invite" ] || fail "sotto invite printed no code"
  export SOTTO_EXAMPLE_PASSPHRASE="$handle's passphrase"
  "$example" register "$address" "$work/$handle" "$handle" "$invite" dr-lee \
    "hello from $handle" || fail "$handle could not register and send"
  sotto sync >/dev/null || fail "the therapist's sync failed"
  sotto read "$handle" | grep -q "hello from $handle" ||
    fail "the therapist did not receive $handle's message"
  sotto send "$handle" "dr-lee answers $handle" >/dev/null ||
    fail "the therapist could not reply to $handle"
  out=$("$example" read "$work/$handle" dr-lee) || fail "$handle could not read"
  echo "$out"
  echo "$out" | grep -q "to dr-lee: hello from $handle" ||
    fail "$handle's conversation lacks its own message"
  echo "$out" | grep -q "from dr-lee: dr-lee answers $handle" ||
    fail "$handle did not receive the therapist's reply"
}

echo "== C++ example <-> sotto CLI"
exchange "$cpp_example" cpp-app
echo "== C example <-> sotto CLI"
exchange "$c_example" c-app
# The installed Python package, with only the prefix on PYTHONPATH (Debian's
# python3: it has python3-cffi). It finds libsotto.so.1 under the prefix.
[ -f "$prefix/lib/python3/dist-packages/sotto/__init__.py" ] ||
  fail "the install has no lib/python3/dist-packages/sotto"
py_example() {
  PYTHONPATH="$prefix/lib/python3/dist-packages" LD_PRELOAD="${SOTTO_PYTHON_PRELOAD:-}" \
    ASAN_OPTIONS="${SOTTO_PYTHON_PRELOAD:+detect_leaks=0}" SOTTO_LIBRARY="" \
    /usr/bin/python3 -s "$source_dir/examples/python/sotto_example.py" "$@"
}
echo "== Python example <-> sotto CLI"
exchange py_example py-app
echo "OK"

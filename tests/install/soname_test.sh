#!/bin/sh
# libsotto.so's SONAME carries the ABI number (SOVERSION): an app linked
# against it records libsotto.so.N and keeps getting an ABI-compatible
# library; a Debian package libsottoN can sit beside libsotto(N+1).
# Usage: soname_test.sh LIBSOTTO_SO SOVERSION
set -eu
lib=$1
soversion=$2
soname=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$soname" != "libsotto.so.$soversion" ]; then
  echo "FAIL: $lib has SONAME '$soname', want 'libsotto.so.$soversion'"
  exit 1
fi
echo "OK: SONAME $soname"

# SPDX-License-Identifier: MIT
# CMake toolchain file: build moat for s390x Linux (64-bit, big-endian) with
# Debian's cross compiler, against multiarch libraries (check:s390x), and
# run what ctest runs under qemu-user. Used by scripts/test.sh's big-endian
# step to execute the unit tests on a big-endian target:
#
#   apt-get install gcc-s390x-linux-gnu libc6-dev-s390x-cross qemu-user check:s390x \
#     libsubunit-dev:s390x
#     (after dpkg --add-architecture s390x && apt-get update)
#   cmake -S . -B build/s390x -DCMAKE_TOOLCHAIN_FILE=cmake/s390x-linux-gnu.cmake \
#         -DMOAT_BACKEND=thread -DMOAT_BUILD_EXAMPLES=OFF
#   cmake --build build/s390x -j2 && ctest --test-dir build/s390x -L unit
#
# ctest starts every test executable through CMAKE_CROSSCOMPILING_EMULATOR
# (qemu-s390x), so no binfmt_misc registration is needed. The programs run
# against the multiarch libc6:s390x (/lib/ld64.so.1, /lib/s390x-linux-gnu)
# that check:s390x pulls in. No "-L /usr/s390x-linux-gnu": that would take
# the cross toolchain's ld64.so.1 (an older glibc build) and then find the
# multiarch libc.so.6 through /etc/ld.so.cache; the mix aborts every
# program at start ("stack smashing detected") under Debian 12's qemu 7.2.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR s390x)
set(_triple s390x-linux-gnu)

set(CMAKE_C_COMPILER ${_triple}-gcc)
find_program(CMAKE_OBJDUMP ${_triple}-objdump)
find_program(CMAKE_OBJCOPY ${_triple}-objcopy)
find_program(CMAKE_NM ${_triple}-nm)

# Headers and libraries of the target: the cross libc lives in
# /usr/${_triple}, multiarch packages (check:s390x) in /usr/lib/${_triple}.
set(CMAKE_FIND_ROOT_PATH /usr/${_triple})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE BOTH)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE BOTH)
# pkg-config (tests/CMakeLists.txt finds Check with it) must read the
# target's .pc files, not the build host's.
set(ENV{PKG_CONFIG_LIBDIR} /usr/lib/${_triple}/pkgconfig:/usr/share/pkgconfig)
set(ENV{PKG_CONFIG_PATH} "")

find_program(MOAT_QEMU_S390X qemu-s390x)
if(MOAT_QEMU_S390X)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${MOAT_QEMU_S390X})
endif()

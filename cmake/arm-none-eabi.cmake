# SPDX-License-Identifier: MIT
# CMake toolchain file for Cortex-M targets with Debian's gcc-arm-none-eabi
# and libnewlib-arm-none-eabi (used by ports/mps2-an385):
#   cmake -S ports/mps2-an385 -B build/mps2 -DCMAKE_TOOLCHAIN_FILE=cmake/arm-none-eabi.cmake
# The CPU flags are the port's (it adds -mcpu=...); this file only names
# the compiler and tells CMake not to try linking a hosted test program.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)
set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_OBJCOPY arm-none-eabi-objcopy CACHE FILEPATH "")
set(CMAKE_SIZE arm-none-eabi-size CACHE FILEPATH "")
# No OS to link a test executable against: check the compiler with a library.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)

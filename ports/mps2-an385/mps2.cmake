# SPDX-License-Identifier: MIT
# Included from the top-level CMakeLists.txt: a target `moat_mps2` (not
# part of `all`) that builds the board image ports/mps2-an385 in
# <build>/mps2 with the arm-none-eabi toolchain, when that compiler is
# installed:  cmake --build build/thread --target moat_mps2
# The image is its own CMake project (another toolchain); this only
# drives it. tests/interop/test_mps2.sh builds it the same way.
find_program(MOAT_ARM_GCC arm-none-eabi-gcc)
if(MOAT_ARM_GCC)
  include(ExternalProject)
  ExternalProject_Add(moat_mps2
    SOURCE_DIR ${PROJECT_SOURCE_DIR}/ports/mps2-an385
    BINARY_DIR ${PROJECT_BINARY_DIR}/mps2
    CMAKE_ARGS -DCMAKE_TOOLCHAIN_FILE=${PROJECT_SOURCE_DIR}/cmake/arm-none-eabi.cmake
    INSTALL_COMMAND ""
    BUILD_ALWAYS ON
    EXCLUDE_FROM_ALL ON)
endif()

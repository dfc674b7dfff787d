# SPDX-License-Identifier: MIT
# The protocol core's source list, in one place: the hosted build
# (CMakeLists.txt) and the cross-built board ports (ports/mps2-an385/)
# include this file, so a new core/*.c is picked up by every build.
# Expects MOAT_ROOT (the source tree's top) or uses this file's parent.
if(NOT MOAT_ROOT)
  get_filename_component(MOAT_ROOT "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()
file(GLOB MOAT_CORE_SOURCES CONFIGURE_DEPENDS ${MOAT_ROOT}/core/*.c)

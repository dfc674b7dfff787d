# SPDX-License-Identifier: MIT
# The factored, confined backend: everything of the process backend, plus
# in each domain no_new_privs, descriptors and resource limits cut down,
# and a libseccomp allow-list (policy.c) with kill-process as the default.
# -DMOAT_SECCOMP_DEBUG=ON logs violations (SCMP_ACT_LOG) instead of killing.
find_package(PkgConfig REQUIRED)
pkg_check_modules(SECCOMP REQUIRED IMPORTED_TARGET libseccomp)
option(MOAT_SECCOMP_DEBUG "seccomp: log forbidden calls instead of killing the domain" OFF)

set(_moat_secc_dir ${CMAKE_CURRENT_LIST_DIR})
set(MOAT_CONFINE_SOURCES ${_moat_secc_dir}/confine.c ${_moat_secc_dir}/policy.c
    ${_moat_secc_dir}/filter.c ${_moat_secc_dir}/sandbox.c)
# Sanitizer run-times make calls of their own: policy.c adds rows for them
# (and says so) in such builds only.
if(MOAT_SANITIZE)
  set_property(SOURCE ${_moat_secc_dir}/policy.c APPEND PROPERTY COMPILE_DEFINITIONS
               MOAT_POLICY_SANITIZER)
endif()
set(MOAT_CONFINE_LIBS PkgConfig::SECCOMP)
if(MOAT_SECCOMP_DEBUG)
  set_property(SOURCE ${_moat_secc_dir}/confine.c ${_moat_secc_dir}/moat_policy.c
               APPEND PROPERTY COMPILE_DEFINITIONS MOAT_SECCOMP_DEBUG)
endif()
include(${CMAKE_CURRENT_LIST_DIR}/../process/backend.cmake)

# The supervisor names the system call that killed a domain (libseccomp's
# syscall table), so the library links libseccomp too.
set(MOAT_BACKEND_LIBS seccomp)
set(MOAT_PC_LIBS "-lseccomp")
set_property(SOURCE ${_moat_sv_sources} APPEND PROPERTY COMPILE_DEFINITIONS MOAT_HAVE_LIBSECCOMP)

add_executable(moat-policy ${_moat_secc_dir}/moat_policy.c ${_moat_secc_dir}/policy.c
               ${_moat_secc_dir}/filter.c)
target_include_directories(moat-policy PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                           ${CMAKE_CURRENT_SOURCE_DIR}/include ${CMAKE_CURRENT_SOURCE_DIR}/core ${_moat_secc_dir})
target_link_libraries(moat-policy PRIVATE PkgConfig::SECCOMP)
install(TARGETS moat-policy RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})

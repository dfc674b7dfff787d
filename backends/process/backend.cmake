# SPDX-License-Identifier: MIT
# The factored backend: the network and link domains run as the child
# processes moat-netd and moat-linkd (fork + execve), talking to the
# application and to each other through memfd regions and rings.
# backends/seccomp/backend.cmake includes this file with
# MOAT_CONFINE_SOURCES / MOAT_CONFINE_LIBS set to its own confinement.
#
# The library finds the two executables at run time in $MOAT_DOMAIN_DIR,
# $MOAT_BUILD_DIR, this build tree, or ${CMAKE_INSTALL_FULL_LIBEXECDIR}/moat
# (in that order; see supervisor.c).

option(MOAT_TEST_HOOKS "Compile the test-only hooks (a domain attempts a forbidden call on request)"
       ${MOAT_BUILD_TESTS})

set(_moat_proc_dir ${CMAKE_CURRENT_LIST_DIR})
set(MOAT_BACKEND_SOURCES ${_moat_proc_dir}/supervisor.c)
if(NOT DEFINED MOAT_CONFINE_SOURCES)
  set(MOAT_CONFINE_SOURCES ${_moat_proc_dir}/confine_none.c)
  set(MOAT_CONFINE_LIBS "")
  set(MOAT_BACKEND_LIBS "")
  set(MOAT_PC_LIBS "")
endif()
if(MOAT_TEST_HOOKS)
  set_property(SOURCE ${_moat_proc_dir}/supervisor.c APPEND PROPERTY COMPILE_DEFINITIONS MOAT_TEST_HOOKS)
endif()

# The domain executables: their main (moat-netd's here, moat-linkd's in
# link/), the shared domain helpers and the confinement, on top of the
# static library (core, ports/linux, net/netloop.c, link/linkring.c).
set(_moat_main_netd ${_moat_proc_dir}/netd.c)
set(_moat_main_linkd ${CMAKE_CURRENT_SOURCE_DIR}/link/linkd.c)
foreach(_dom netd linkd)
  add_executable(moat-${_dom} ${_moat_main_${_dom}} ${_moat_proc_dir}/domain.c
                 ${MOAT_CONFINE_SOURCES})
  target_include_directories(moat-${_dom} PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}
                             ${CMAKE_CURRENT_SOURCE_DIR}/core ${_moat_proc_dir})
  target_link_libraries(moat-${_dom} PRIVATE moat_static ${MOAT_CONFINE_LIBS})
  set_target_properties(moat-${_dom} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR})
  install(TARGETS moat-${_dom} RUNTIME DESTINATION ${CMAKE_INSTALL_LIBEXECDIR}/moat)
endforeach()

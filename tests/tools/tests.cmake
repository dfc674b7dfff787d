# SPDX-License-Identifier: MIT
# Test tools (included by tests/CMakeLists.txt): nfq_delay, the NFQUEUE
# delay/reorder program the impaired kernel interop test runs in its
# namespace. Built only where libnetfilter-queue is installed; without it
# that test skips (exit 77) and says why.
pkg_check_modules(NFQ IMPORTED_TARGET libnetfilter_queue)
if(NFQ_FOUND)
  add_executable(nfq_delay ${CMAKE_CURRENT_LIST_DIR}/nfq_delay.c)
  target_link_libraries(nfq_delay PRIVATE PkgConfig::NFQ)
else()
  message(STATUS "libnetfilter_queue not found: nfq_delay (impaired interop test) not built")
endif()

if(TEST interop_test_kernel_tcp_impaired)
  set_tests_properties(interop_test_kernel_tcp_impaired PROPERTIES SKIP_RETURN_CODE 77)
endif()

# test_kernel_scale.sh skips (77) when it cannot raise RLIMIT_NOFILE for
# its 10,000-connection kernel client.
if(TEST interop_test_kernel_scale)
  set_tests_properties(interop_test_kernel_scale PROPERTIES SKIP_RETURN_CODE 77)
endif()

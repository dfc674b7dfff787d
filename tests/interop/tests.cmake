# SPDX-License-Identifier: MIT
# Included by tests/CMakeLists.txt after the interop tests are declared:
# exit code 77 from an interop script means "skipped" (not root, no TAP, or
# a feature or tool this build does not have yet), not "failed".
file(GLOB _moat_interop_scripts CONFIGURE_DEPENDS ${CMAKE_CURRENT_LIST_DIR}/test_*.sh)
foreach(_script ${_moat_interop_scripts})
  get_filename_component(_name ${_script} NAME_WE)
  if(TEST interop_${_name})
    set_tests_properties(interop_${_name} PROPERTIES SKIP_RETURN_CODE 77)
  endif()
endforeach()

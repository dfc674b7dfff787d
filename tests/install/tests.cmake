# Install + consume the package (find_package and pkg-config).
add_test(NAME test_install COMMAND bash ${CMAKE_CURRENT_LIST_DIR}/test_install.sh
         ${PROJECT_SOURCE_DIR} ${PROJECT_BINARY_DIR})
set_tests_properties(test_install PROPERTIES LABELS "unit;backend:${MOAT_BACKEND}" TIMEOUT 300)

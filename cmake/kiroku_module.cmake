# kiroku's module rule, stated once and enforced by the compiler.
#
# Each folder under src/ is one module with its own CMakeLists.txt that calls
# kiroku_module(). A module's headers are reachable as "<module>/x.h" only by targets that
# link it: src/ itself is on no include path. Instead each module gets a staging folder
# build/include_stage/<module>/ holding one symlink <module> -> src/<module>, and that
# folder is a PUBLIC include directory of the module's library. So:
#  - a file may include its own module, the public API (include/kiroku/), and the modules
#    its module declares in DEPENDS (and, through them, their PUBLIC dependencies);
#  - any other "<module>/..." include fails to compile: the header is not on the path.
# The declared rule is also written to build/module_rules.txt, which
# tests/structure/include_rule_test.sh compares with every include and with src/README.md.
set(KIROKU_INCLUDE_STAGE ${CMAKE_BINARY_DIR}/include_stage)
set_property(GLOBAL PROPERTY KIROKU_MODULE_RULES "")

# kiroku_module(<name> SOURCES ... [DEPENDS <module>...] [PRIVATE_DEPENDS <module>...]
#               [LIBS <target>...] [PRIVATE_LIBS <target>...])
# DEPENDS: modules whose headers this module's own headers include (passed on to users).
# PRIVATE_DEPENDS: modules only this module's .cc files include.
function(kiroku_module name)
  cmake_parse_arguments(M "" "" "SOURCES;DEPENDS;PRIVATE_DEPENDS;LIBS;PRIVATE_LIBS" ${ARGN})
  set(target kiroku_${name})
  add_library(${target} STATIC ${M_SOURCES})
  target_compile_options(${target} PRIVATE ${KIROKU_WARNINGS})
  set(stage ${KIROKU_INCLUDE_STAGE}/${name})
  file(MAKE_DIRECTORY ${stage})
  file(CREATE_LINK ${CMAKE_CURRENT_SOURCE_DIR} ${stage}/${name} SYMBOLIC)
  target_include_directories(${target} PUBLIC ${CMAKE_SOURCE_DIR}/include ${stage})
  foreach(dep IN LISTS M_DEPENDS)
    target_link_libraries(${target} PUBLIC kiroku_${dep})
  endforeach()
  foreach(dep IN LISTS M_PRIVATE_DEPENDS)
    target_link_libraries(${target} PRIVATE kiroku_${dep})
  endforeach()
  target_link_libraries(${target} PUBLIC ${M_LIBS} PRIVATE ${M_PRIVATE_LIBS})
  set(deps ${M_DEPENDS} ${M_PRIVATE_DEPENDS})
  list(SORT deps)
  list(JOIN deps " " deps_text)
  set_property(GLOBAL APPEND PROPERTY KIROKU_MODULE_RULES "${name}:${deps_text}")
endfunction()

# kiroku_unit_test(<name> LIBS <target>... [LABELS l...] [FILTER gtest-filter])
# One *_test.cc next to the code is one test binary, discovered test by test by ctest.
function(kiroku_unit_test name)
  cmake_parse_arguments(T "" "FILTER" "LIBS;LABELS" ${ARGN})
  add_executable(${name} ${CMAKE_CURRENT_SOURCE_DIR}/${name}.cc
    ${CMAKE_SOURCE_DIR}/tests/support/test_dir.cc)
  target_compile_options(${name} PRIVATE ${KIROKU_WARNINGS})
  target_include_directories(${name} PRIVATE ${CMAKE_SOURCE_DIR}/tests)
  target_link_libraries(${name} PRIVATE ${T_LIBS} GTest::gtest_main)
  if(T_FILTER)
    gtest_discover_tests(${name} TEST_FILTER "${T_FILTER}"
      PROPERTIES LABELS "${T_LABELS}" DISCOVERY_TIMEOUT 60)
  else()
    gtest_discover_tests(${name} PROPERTIES LABELS "${T_LABELS}" DISCOVERY_TIMEOUT 60)
  endif()
endfunction()

# Writes the declared rule, one "module:dep dep" line each, for the include-rule test.
function(kiroku_write_module_rules)
  get_property(rules GLOBAL PROPERTY KIROKU_MODULE_RULES)
  list(SORT rules)
  list(JOIN rules "\n" text)
  file(WRITE ${CMAKE_BINARY_DIR}/module_rules.txt "${text}\n")
endfunction()

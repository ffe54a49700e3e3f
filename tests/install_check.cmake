# Installs the build into a fresh prefix and checks what an operator gets.
# Usage: cmake -DBUILD_DIR=<build> -DSOURCE_DIR=<repo> -DPREFIX=<empty dir> -P tests/install_check.cmake
foreach(var BUILD_DIR SOURCE_DIR PREFIX)
  if(NOT ${var})
    message(FATAL_ERROR "install_check: pass -D${var}=...")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
set(ENV{DESTDIR} "")
execute_process(COMMAND ${CMAKE_COMMAND} --install "${BUILD_DIR}" --prefix "${PREFIX}"
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cmake --install failed (${rc}):\n${out}\n${err}")
endif()

# GNUInstallDirs: bin/ and share/doc/<project>/ on every platform we build for.
set(doc "${PREFIX}/share/doc/distillguard")
set(missing "")
foreach(f
    bin/distillguard
    share/doc/distillguard/LICENSE
    share/doc/distillguard/NOTICE
    share/doc/distillguard/README.md
    share/doc/distillguard/configuration.md
    share/doc/distillguard/metrics.md
    share/doc/distillguard/alerts.md
    share/doc/distillguard/examples/distillguard.example.yaml
    share/doc/distillguard/examples/policy.example.yaml
    share/doc/distillguard/examples/detection.example.yaml
    share/doc/distillguard/examples/admin.example.yaml)
  if(NOT EXISTS "${PREFIX}/${f}")
    string(APPEND missing "\n  ${f}")
  endif()
endforeach()
# The operator's tools, when they were built.
foreach(tool dg-play dg-webhook-receiver dg-demo-upstream dg-simulate)
  if(EXISTS "${BUILD_DIR}/${tool}" AND NOT EXISTS "${PREFIX}/bin/${tool}")
    string(APPEND missing "\n  bin/${tool}")
  endif()
endforeach()
if(missing)
  message(FATAL_ERROR "not installed:${missing}")
endif()

file(READ "${doc}/LICENSE" license)
if(NOT license MATCHES "Apache License" OR NOT license MATCHES "Version 2.0" OR NOT license MATCHES "The DistillGuard authors")
  message(FATAL_ERROR "${doc}/LICENSE is not the Apache-2.0 license of The DistillGuard authors")
endif()

# The installed binary runs from the prefix and accepts the installed examples.
foreach(example distillguard.example.yaml policy.example.yaml)
  execute_process(COMMAND "${PREFIX}/bin/distillguard" check-config "${doc}/examples/${example}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0 OR NOT out STREQUAL "ok\n")
    message(FATAL_ERROR "installed distillguard check-config ${example}: exit ${rc}\n${out}${err}")
  endif()
endforeach()

file(REMOVE_RECURSE "${PREFIX}")
message(STATUS "install into ${PREFIX}: ok")

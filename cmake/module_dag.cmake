# module_dag.cmake: the library's module DAG, enforced at configure time. Each src/ folder lists
# the folders it may use (directly; what they use comes along); pd_check_module_includes() fails
# the configure step when a source includes a header of a folder outside that closure, and each
# module's object library links exactly its dependencies. "pangu_draw/" (the public header) is
# open to every module.
set(PD_DEPS_core "")
set(PD_DEPS_io core)
set(PD_DEPS_tokenizers io)
set(PD_DEPS_nn core)
set(PD_DEPS_text_encoders tokenizers nn)
set(PD_DEPS_unet io nn)
set(PD_DEPS_vae io nn)
set(PD_DEPS_schedulers io)
set(PD_DEPS_guidance core)
set(PD_DEPS_pipeline text_encoders unet vae schedulers guidance)
set(PD_DEPS_coop pipeline)
set(PD_DEPS_api coop)

# PD_CLOSURE_<module>: the module, its dependencies and theirs.
function(pd_module_closure module out)
  set(result ${module})
  foreach(dep ${PD_DEPS_${module}})
    pd_module_closure(${dep} sub)
    list(APPEND result ${sub})
  endforeach()
  list(REMOVE_DUPLICATES result)
  set(${out} ${result} PARENT_SCOPE)
endfunction()

# Fails when a source of `module` includes "<folder>/..." for a src/ folder outside its closure.
function(pd_check_module_includes module)
  pd_module_closure(${module} allowed)
  file(GLOB sources ${CMAKE_CURRENT_SOURCE_DIR}/src/${module}/*.h ${CMAKE_CURRENT_SOURCE_DIR}/src/${module}/*.cpp)
  foreach(source ${sources})
    file(STRINGS ${source} includes REGEX "^#include \"[a-z_]+/")
    foreach(line ${includes})
      string(REGEX REPLACE "^#include \"([a-z_]+)/.*" "\\1" folder "${line}")
      if(folder STREQUAL "pangu_draw")
        continue()
      endif()
      if(NOT folder IN_LIST allowed)
        message(FATAL_ERROR "${source}: includes \"${folder}/...\", but src/${module} may use only "
                            "${allowed} (cmake/module_dag.cmake holds the module DAG)")
      endif()
    endforeach()
  endforeach()
endfunction()
